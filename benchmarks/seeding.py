"""Benchmark data in the bench database: seeded once, reused while it is complete.

Rows are named deterministically from the seed's shape: organizations `bench-m100-org-007`,
users `bench-m100-007-042@bench.example` (m100: 100 members per organization). A seed is
recognised by counting each organization's memberships (two small queries); a missing or
partial seed is filled in with `bulk_create(ignore_conflicts=True)`, so seeding is
idempotent. Seeds with the same members per organization share rows: 10 organizations are the
first 10 of 50. A different number of members per organization is a separate set of rows, so
no scenario ever finds an organization bigger than it asked for.

The process connects as the runtime role, so row-level security applies: memberships are
written inside `tenant_context(organization)`, one organization at a time, as the app does.
After a load, the tables are analyzed (as the owner role) so that plans match a settled
database.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count, Model
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

EMAIL_DOMAIN = "bench.example"
SEED_PASSWORD = "bench-password-not-secret"  # noqa: S105 (bench data only)
ROLES = list(Role)  # org_admin, privacy_officer, privacy_staff, billing_contact, viewer
# The first organization's admin also belongs to the second and third organizations (with
# these roles), so that their organization switcher lists three organizations.
MULTI_ORG_EXTRA_ROLES = [Role.PRIVACY_OFFICER, Role.VIEWER]


@dataclass(frozen=True)
class PortalSeed:
    organization_slugs: list[str]
    organization_ids: list[int]
    admin_email: str  # org admin of the first organization; member of up to three
    admin_organization_slug: str
    users: int
    memberships: int
    reused: bool
    seconds: float


def organization_slug(index: int, *, members: int) -> str:
    return f"bench-m{members}-org-{index:03d}"


def user_email(organization_index: int, member_index: int, *, members: int) -> str:
    return f"bench-m{members}-{organization_index:03d}-{member_index:03d}@{EMAIL_DOMAIN}"


def member_role(member_index: int) -> Role:
    """Members spread evenly over the five roles; member 0 of each organization is its admin."""
    return ROLES[member_index % len(ROLES)]


@cache
def password_hash() -> str:
    """One real hash, computed once and stored on every seeded user (Argon2 per row is slow)."""
    return make_password(SEED_PASSWORD)


def _expected_memberships(organizations: int, members: int) -> dict[int, list[tuple[int, Role]]]:
    """{organization index: [(user number, role)]}; user number = org index * members + m.

    An organization's memberships do not depend on how many organizations are seeded, so
    seeds of different sizes agree on the rows they share.
    """
    expected: dict[int, list[tuple[int, Role]]] = {
        o: [(o * members + m, member_role(m)) for m in range(members)] for o in range(organizations)
    }
    for o, role in enumerate(MULTI_ORG_EXTRA_ROLES, start=1):
        if members and o < organizations:
            expected[o].append((0, role))
    return expected


def seed_portal(*, organizations: int = 50, users_per_organization: int = 100) -> PortalSeed:
    """Organizations, users and memberships; reused when already complete (two queries)."""
    started = time.perf_counter()
    members = users_per_organization
    slugs = [organization_slug(o, members=members) for o in range(organizations)]
    expected = _expected_memberships(organizations, members)
    expected_counts = {slugs[o]: len(rows) for o, rows in expected.items()}

    org_ids = _organization_ids(slugs)
    reused = len(org_ids) == organizations and _membership_counts(org_ids) == expected_counts
    if not reused:
        emails = [
            user_email(o, m, members=members) for o in range(organizations) for m in range(members)
        ]
        with transaction.atomic():
            _create_organizations(slugs, existing=org_ids)
            org_ids = _organization_ids(slugs)
            _create_users(emails)
            user_ids = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
            for o, rows in expected.items():
                organization_id = org_ids[slugs[o]]
                with tenant_context(organization_id):
                    Membership.objects.bulk_create(
                        [
                            Membership(
                                organization_id=organization_id,
                                user_id=user_ids[emails[u]],
                                role=role,
                            )
                            for u, role in rows
                        ],
                        ignore_conflicts=True,
                    )
            found = _membership_counts(org_ids)
            if found != expected_counts:
                wrong = sorted(s for s in slugs if found.get(s) != expected_counts[s])
                raise RuntimeError(
                    f"bench seed: organizations {', '.join(wrong[:5])} have other than the "
                    "expected number of memberships (rows from an older seed?); drop the "
                    "k12cloud_bench database and run again"
                )
        analyze([User, Organization, Membership])
    return PortalSeed(
        organization_slugs=slugs,
        organization_ids=[org_ids[s] for s in slugs],
        admin_email=user_email(0, 0, members=members),
        admin_organization_slug=slugs[0],
        users=organizations * members,
        memberships=sum(expected_counts.values()),
        reused=reused,
        seconds=time.perf_counter() - started,
    )


def analyze(models: list[type[Model]], *, vacuum: bool = False) -> None:
    """Refresh planner statistics after a bulk load, as autovacuum eventually would.

    Without them the first run after seeding plans queries for near-empty tables. ANALYZE
    needs the table (or database) owner, so this uses DATABASE_OWNER_URL, which `make bench`
    sets; without it the step is skipped. With `vacuum`, VACUUM ANALYZE: the visibility map
    is set too, as autovacuum leaves a settled table (index-only scans depend on it; the
    development server may run with autovacuum off).
    """
    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if not owner_url:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(owner_url, autocommit=True) as conn:
        for model in models:
            command = "VACUUM ANALYZE {}" if vacuum else "ANALYZE {}"
            conn.execute(sql.SQL(command).format(sql.Identifier(model._meta.db_table)))


def seed_cloned_requests(
    organization: Organization, rows: int, *, reference_prefix: str, details: str
) -> None:
    """At least `rows` privacy requests in the organization: one made by the ORM (encrypted as
    the portal encrypts), then cloned set-based by one INSERT ... SELECT (seconds for 1M).

    Reused between runs: nothing is added when the organization already has `rows`.
    """
    from privacy_requests.models import PrivacyRequest

    with tenant_context(organization):
        have = PrivacyRequest.objects.count()
        if have >= rows:
            return
        template = PrivacyRequest.objects.order_by("pk").first() or PrivacyRequest.objects.create(
            organization=organization,
            reference=f"{reference_prefix}000000000",
            request_type="access",
            channel="web",
            relationship="parent",
            requester_name="Benchmark Requester Name",
            requester_email="bench.requester@example.org",
            requester_phone="+1 555 0100 0000",
            requester_address="1 Benchmark Way, Springfield",
            subject_name="Benchmark Student",
            subject_school="Benchmark Elementary",
            subject_birth_date="2014-01-01",
            details=details,
            received_at=timezone.now(),
        )
        have = PrivacyRequest.objects.count()
        table = PrivacyRequest._meta.db_table
        columns = [
            str(f.column)
            for f in PrivacyRequest._meta.concrete_fields
            if f.column not in ("id", "reference")
        ]
        column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (reference, {column_list}) "
                f"SELECT %s || lpad(g::text, 9, '0'), {column_list} "
                f"FROM {table}, generate_series(%s, %s) g WHERE id = %s",
                [reference_prefix, have, rows - 1, template.pk],
            )
    analyze([PrivacyRequest])


def _organization_ids(slugs: list[str]) -> dict[str, int]:
    return dict(Organization.objects.filter(slug__in=slugs).values_list("slug", "pk"))


def _membership_counts(org_ids: dict[str, int]) -> dict[str, int]:
    """{slug: memberships}, every organization's count in one query."""
    slug_of = {pk: slug for slug, pk in org_ids.items()}
    with unscoped_all_tenants(reason="benchmark seeding: count the bench seed's memberships"):
        rows = (
            Membership.objects.filter(organization_id__in=slug_of)
            .order_by()
            .values_list("organization_id")
            .annotate(n=Count("pk"))
        )
        counts = Counter({slug_of[pk]: n for pk, n in rows})
    return {slug: counts[slug] for slug in org_ids}


def _create_organizations(slugs: list[str], *, existing: dict[str, int]) -> None:
    zones = ["America/Los_Angeles", "America/Chicago", "America/New_York", "America/Denver"]
    Organization.objects.bulk_create(
        [
            Organization(
                slug=slug,
                name=f"Bench District {index:03d}",
                kind=Organization.Kind.DISTRICT,
                time_zone=zones[index % len(zones)],
                country="US",
                subdivision="CA",
            )
            for index, slug in enumerate(slugs)
            if slug not in existing
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


def _create_users(emails: list[str]) -> None:
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    hashed = password_hash()
    User.objects.bulk_create(
        [
            User(email=email, full_name=email.split("@")[0], password=hashed)
            for email in emails
            if email not in existing
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


# --- a request register of 10k, 100k or 1M requests (the queue and list scenarios) -----------

REGISTER_TEMPLATES = 100  # ORM-made requests, one per requester, that the clones copy
REGISTER_STAFF = 8  # privacy staff the requests are assigned to
REGISTER_ADMIN_EMAIL = "bench-register-admin@bench.example"


@dataclass(frozen=True)
class RegisterSeed:
    organization: Organization
    admin: User  # org admin of the organization, signed in by the queue scenario
    requests: int
    open_requests: int
    reused: bool
    seconds: float


def register_slug(size_name: str) -> str:
    return f"bench-register-{size_name}"


def seed_request_register(size_name: str, requests: int) -> RegisterSeed:
    """An organization with `requests` privacy requests as a busy queue has them; reused when
    the organization already has that many (one count).

    The register mixes request types, channels and statuses (about 30 % open, the rest
    closed over three years); open requests were received in the last 60 days, so their next
    deadline (the acknowledgement, then the response, some extended) falls from 60 days ago
    to 45 days on: many are overdue, most are not. 80 % of open requests are assigned to one
    of 8 privacy staff. The requester's name, email, phone, address, the subject and the
    details are real envelopes sealed with the organization's key: 100 requests are made
    through the ORM (one per requester), and the rest clone them set-based with one INSERT
    ... SELECT generate_series (about a minute for 1M), with the register's columns computed
    per row from a hash of its number.
    """
    from privacy_requests.models import PrivacyRequest

    started = time.perf_counter()
    organization, _ = Organization.objects.get_or_create(
        slug=register_slug(size_name),
        defaults={
            "name": f"Bench Register {size_name}",
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Los_Angeles",
            "country": "US",
            "subdivision": "CA",
        },
    )
    admin, _ = User.objects.get_or_create(
        email=REGISTER_ADMIN_EMAIL,
        defaults={"full_name": "Bench Register Admin", "password": password_hash()},
    )
    staff_emails = [f"bench-register-staff-{s}@{EMAIL_DOMAIN}" for s in range(REGISTER_STAFF)]
    _create_users(staff_emails)
    staff_ids = list(
        User.objects.filter(email__in=staff_emails).order_by("email").values_list("pk", flat=True)
    )
    with tenant_context(organization):
        Membership.objects.get_or_create(
            organization=organization, user=admin, defaults={"role": Role.ORG_ADMIN}
        )
        Membership.objects.bulk_create(
            [
                Membership(organization=organization, user_id=pk, role=Role.PRIVACY_STAFF)
                for pk in staff_ids
            ],
            ignore_conflicts=True,
        )
        have = PrivacyRequest.objects.count()
        reused = have >= requests
        if not reused:
            if have:
                raise RuntimeError(
                    f"bench seed: {organization.slug} has {have} requests, not {requests} "
                    "(an interrupted seed?); drop the bench database and run again"
                )
            _register_templates(organization)
            _register_clones(organization, requests, staff_ids)
            have = PrivacyRequest.objects.count()
        open_requests = PrivacyRequest.objects.filter(closed_at__isnull=True).count()
    if not reused:
        analyze([PrivacyRequest], vacuum=True)
    return RegisterSeed(
        organization=organization,
        admin=admin,
        requests=have,
        open_requests=open_requests,
        reused=reused,
        seconds=time.perf_counter() - started,
    )


def _register_templates(organization: Organization) -> None:
    """One ORM-made request per requester (sealed and blind-indexed as intake does)."""
    from privacy_requests.models import PrivacyRequest

    now = timezone.now()
    for t in range(REGISTER_TEMPLATES):
        PrivacyRequest.objects.create(
            organization=organization,
            reference=f"RT{t:03d}",
            request_type="access",
            channel="web",
            relationship=["parent", "self", "eligible_student", "agent"][t % 4],
            requester_name=f"Requester {t:03d} Benchmark",
            requester_email=f"requester-{t:03d}@bench.example",
            requester_phone=f"+1 555 01{t:02d} 0000",
            requester_address=f"{t + 1} Benchmark Way, Springfield",
            subject_name=f"Student {t:03d} Benchmark",
            subject_school="Benchmark Elementary",
            subject_birth_date="2014-01-01",
            details="Please send me a copy of my child's records.",
            received_at=now,
            deadlines={"binding_rule": "ccpa"},
        )


# status codes by a row's hash: open ones first (with the timestamps they imply), then closed
_REGISTER_OPEN = ["received", "awaiting_verification", "acknowledged", "verified", "in_progress"]
_REGISTER_CLOSED = ["fulfilled", "fulfilled", "denied", "withdrawn", "closed_unverified"]


def _register_clones(organization: Organization, requests: int, staff_ids: list[int]) -> None:
    """Requests RT000..RT099 cloned into R000000100..: one INSERT ... SELECT.

    Per row n, h = a hash of n in 0..9999 picks: closed when h < 7000 (one of the closed
    statuses, received up to 3 years ago, closed 20 days later); otherwise open, received
    (h % 60) days ago, with one of the open statuses; acknowledged and verified timestamps as
    the status implies; the next deadline the acknowledgement (14 days after receipt) while
    unacknowledged, else the response (45 days), 45 days later again when extended (1 in 10
    in progress); an assignee for 80 % of open requests; the type and channel by n.
    """
    from privacy_requests.models import PrivacyRequest

    table = PrivacyRequest._meta.db_table
    computed = {
        "reference",
        "request_type",
        "status",
        "channel",
        "received_at",
        "acknowledged_at",
        "verified_at",
        "verification_method",
        "acknowledge_by",
        "respond_by",
        "extended_respond_by",
        "extended_at",
        "next_due_on",
        "assignee_id",
        "outcome",
        "closed_at",
        "created_at",
        "updated_at",
    }
    copied = [
        str(f.column)
        for f in PrivacyRequest._meta.concrete_fields
        if f.column != "id" and f.column not in computed
    ]
    quote = connection.ops.quote_name
    copied_list = ", ".join(quote(c) for c in copied)
    copied_from = ", ".join(f"t.{quote(c)}" for c in copied)
    sql = f"""
        WITH templates AS (
            SELECT *, (row_number() OVER (ORDER BY id)) - 1 AS slot
            FROM {table} WHERE organization_id = %(organization)s AND reference LIKE 'RT%%'
        ),
        numbered AS (
            SELECT n, (hashtext(n::text) & 2147483647) %% 10000 AS h
            FROM generate_series(%(first)s, %(last)s) n
        ),
        shaped AS (
            SELECT n, h,
                h < 7000 AS closed,
                CASE WHEN h < 7000
                    THEN now() - make_interval(days => 20 + h %% 1095, mins => n %% 600)
                    ELSE now() - make_interval(days => h %% 60, mins => n %% 600)
                END AS received,
                (ARRAY{_REGISTER_OPEN})[1 + (h / 7) %% 5] AS open_status,
                (ARRAY{_REGISTER_CLOSED})[1 + (h / 7) %% 5] AS closed_status,
                (h / 3) %% 10 = 0 AS extended
            FROM numbered
        ),
        dated AS (
            SELECT s.*,
                CASE WHEN closed THEN closed_status ELSE
                    CASE WHEN open_status = 'in_progress' AND extended THEN 'extended'
                    ELSE open_status END
                END AS status,
                (received + interval '14 days')::date AS ack_by,
                (received + interval '45 days')::date AS resp_by
            FROM shaped s
        )
        INSERT INTO {table} (
            reference, request_type, status, channel, received_at, acknowledged_at,
            verified_at, verification_method, acknowledge_by, respond_by,
            extended_respond_by, extended_at, next_due_on, assignee_id, outcome, closed_at,
            created_at, updated_at, {copied_list}
        )
        SELECT
            'R' || lpad(d.n::text, 9, '0'),
            (ARRAY['access', 'delete', 'correct', 'opt_out', 'access'])[1 + d.n %% 5],
            d.status,
            (ARRAY['web', 'email', 'api', 'web', 'phone'])[1 + (d.n / 5) %% 5],
            d.received,
            CASE WHEN d.status IN ('received', 'awaiting_verification') THEN NULL
                ELSE d.received + interval '2 days' END,
            CASE WHEN d.status IN ('in_progress', 'extended', 'verified', 'fulfilled', 'denied')
                THEN d.received + interval '3 days' END,
            CASE WHEN d.status IN ('in_progress', 'extended', 'verified', 'fulfilled', 'denied')
                THEN 'email' ELSE '' END,
            d.ack_by,
            d.resp_by,
            CASE WHEN d.status = 'extended' THEN d.resp_by + 45 END,
            CASE WHEN d.status = 'extended' THEN d.received + interval '30 days' END,
            CASE
                WHEN d.closed THEN NULL
                WHEN d.status IN ('received', 'awaiting_verification') THEN d.ack_by
                WHEN d.status = 'extended' THEN d.resp_by + 45
                ELSE d.resp_by
            END,
            CASE WHEN d.closed OR d.h %% 5 <> 0
                THEN (%(staff)s::bigint[])[1 + d.n %% %(staff_count)s] END,
            CASE d.status WHEN 'fulfilled' THEN 'fulfilled' WHEN 'denied' THEN 'denied'
                ELSE '' END,
            CASE WHEN d.closed THEN d.received + interval '20 days' END,
            d.received,
            d.received,
            {copied_from}
        FROM dated d
        JOIN templates t ON t.slot = d.n %% {REGISTER_TEMPLATES}
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "organization": organization.pk,
                "first": REGISTER_TEMPLATES,
                "last": requests - 1,
                "staff": staff_ids,
                "staff_count": len(staff_ids),
            },
        )
