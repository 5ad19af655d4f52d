"""`k12cloud-policy` binds the platform organization only; districts and vendors get
`k12cloud-service-level` (issue 16, docs/deadlines.md).

1. Insert the `k12cloud-service-level` row into the rules table where it is missing (a new
   database has it from 0003).
2. For every district and vendor whose rules include `k12cloud-policy` (a stored selection, or
   the defaults it follows when it has none): a stored selection gets `k12cloud-service-level`
   in its place; an organization without one follows the new defaults table
   (deadlines/defaults.py) and keeps no rows. An organization that had turned
   `k12cloud-policy` off keeps its choice. The platform organization is not touched.
3. Each changed organization gets what `organization_rule_selection_set` writes: one
   `deadlines.rule_selection_changed` audit event (added, removed, the cause), and its open
   requests whose deadline snapshot no longer matches its rules are flagged for review
   (`deadline_snapshot_stale_since`, the mechanism of privacy_requests.routing) with one
   `requests.deadlines_flagged` event when any were. Dates never move on their own.

Historical models only. The audit events are appended to each organization's hash chain the
way audit.services.record did before events were sealed after commit (lock the chain head,
hash with audit.chain.event_hash, which version 1 of the canonical form keeps stable, move the
head; the sealer and the verifier accept such events), as a system actor: the chain
verifies afterwards (tested). Runs as the owner with the all-tenants setting of this
transaction (the tables force row-level security). The head locks are held until the migration
commits, so audit writes of the changed organizations wait for it: it touches only a few rows
per organization.

Reversing restores `k12cloud-policy` in stored selections and leaves the events (the log is
append-only) and the flags (staff review them) in place.
"""

from __future__ import annotations

from typing import Any

import django.contrib.postgres.fields
from django.db import migrations, models
from django.utils import timezone

POLICY = "k12cloud-policy"
SERVICE_LEVEL = "k12cloud-service-level"
ACTOR_LABEL = "migration privacy_requests 0010"
CAUSE = "k12cloud-policy binds the platform organization only (issue 16)"
REVIEWED_VERSIONS_KEY = "reviewed_rule_versions"  # privacy_requests.routing, as of this migration

REQUEST_TYPE_CHOICES = [
    ("access", "Access (a copy of the data)"),
    ("delete", "Deletion"),
    ("correct", "Correction"),
    ("portability", "Portability"),
    ("opt_out", "Opt out of sale or sharing"),
    ("limit_sensitive", "Limit use of sensitive data"),
    ("restrict", "Restrict processing"),
    ("object", "Object to processing"),
    ("withdraw_consent", "Withdraw consent"),
    ("ferpa_inspect", "Inspect education records (FERPA)"),
    ("ferpa_amend", "Amend education records (FERPA)"),
]

SERVICE_LEVEL_ROW = {
    "rule_id": SERVICE_LEVEL,
    "jurisdiction": "k-12.cloud service level",
    "request_types": [
        "access",
        "correct",
        "delete",
        "limit_sensitive",
        "object",
        "opt_out",
        "portability",
        "restrict",
        "withdraw_consent",
    ],
    "acknowledge_amount": 10,
    "acknowledge_unit": "business_days",
    "respond_amount": 45,
    "respond_unit": "calendar_days",
    "extension_amount": 45,
    "extension_unit": "calendar_days",
    "extension_notice": "within_response_period",
    "calendar_country": "US",
    "source": "k-12.cloud service level (modelled on 11 CCR §7021)",
    "confidence": "high",
    "notes": "one extension, with written notice and reasons before the first 45 days end",
    "enabled": True,
}

# The defaults table (deadlines/defaults.py) before this migration, frozen here: what an
# organization without a stored selection followed until now. (kinds, country, subdivision).
_OLD_DEFAULTS: tuple[tuple[frozenset[str] | None, str | None, str | None, str], ...] = (
    (None, None, None, POLICY),
    (None, "US", "CA", "ccpa"),
    (frozenset({"district"}), "US", "CA", "ca-edcode-49069"),
    (frozenset({"district"}), "US", None, "ferpa"),
    (frozenset({"district"}), "US", "NY", "ny-part121"),
    (None, "CA", None, "pipeda"),
    (frozenset({"district"}), "CA", "QC", "quebec-public"),
    (frozenset({"vendor", "platform"}), "CA", "QC", "quebec-private"),
    (frozenset({"district"}), "CA", "ON", "ontario-mfippa"),
)


def old_default_rule_ids(kind: str, country: str, subdivision: str) -> list[str]:
    country, subdivision = country.upper(), subdivision.upper()
    chosen: dict[str, None] = {}
    for kinds, row_country, row_subdivision, rule_id in _OLD_DEFAULTS:
        if (
            (kinds is None or kind in kinds)
            and (row_country is None or row_country == country)
            and (row_subdivision is None or row_subdivision == subdivision)
        ):
            chosen[rule_id] = None
    return list(chosen)


def _replaced(rule_ids: list[str]) -> list[str]:
    return [SERVICE_LEVEL if r == POLICY else r for r in rule_ids]


def _versions(apps: Any, rule_ids: set[str]) -> dict[tuple[str, str], int]:
    """(rule id, request type) -> version of the row governing it, for these rules."""
    JurisdictionRule = apps.get_model("privacy_requests", "JurisdictionRule")
    versions: dict[tuple[str, str], int] = {}
    for rule_id, request_types, version in JurisdictionRule.objects.filter(
        rule_id__in=sorted(rule_ids)
    ).values_list("rule_id", "request_types", "version"):
        for request_type in request_types:
            versions[(rule_id, request_type)] = version
    return versions


def _is_stale(
    request_type: str,
    compared: dict[str, int],
    changed: set[str],
    after: set[str],
    versions: dict[tuple[str, str], int],
) -> bool:
    """selectors.deadline_snapshot_is_stale, for the rules this migration changed: a removed
    rule now counts as version 0, an added one as the version governing the type (0: none)."""
    for rule_id in changed:
        now = versions.get((rule_id, request_type), 0) if rule_id in after else 0
        if int(compared.get(rule_id, 0)) != now:
            return True
    return False


def _append_audit_event(
    apps: Any,
    connection: Any,
    *,
    organization_id: int,
    action: str,
    changes: dict[str, Any],
) -> None:
    """audit.services.record for a migration: the same chain, the same hash."""
    from audit.chain import event_hash, lock_head, move_head

    AuditEvent = apps.get_model("audit", "AuditEvent")
    event = AuditEvent(
        organization_id=organization_id,
        occurred_at=timezone.now(),
        actor_kind="system",
        actor_user_id=None,
        actor_api_key_id=None,
        actor_label=ACTOR_LABEL,
        ip_address=None,
        user_agent="",
        action=action,
        target_type="",
        target_id="",
        changes=changes,
        request_id="",
    )
    # lock_head and move_head use django.db.connection: the migration's own connection
    assert connection.alias == "default"
    sequence, previous_hash = lock_head(organization_id)
    event.sequence, event.previous_hash = sequence + 1, previous_hash
    event.hash = event_hash(vars(event))
    event.save(force_insert=True)
    move_head(organization_id, event.sequence, event.hash)


def _flag_stale_requests(
    apps: Any,
    connection: Any,
    *,
    organization_id: int,
    changed: set[str],
    after: set[str],
    versions: dict[tuple[str, str], int],
) -> int:
    PrivacyRequest = apps.get_model("privacy_requests", "PrivacyRequest")
    candidates = PrivacyRequest.objects.filter(
        organization_id=organization_id,
        closed_at__isnull=True,
        deadline_snapshot_stale_since__isnull=True,
    )
    stale_ids = [
        pk
        for pk, request_type, deadlines in candidates.values_list("pk", "request_type", "deadlines")
        if deadlines
        and deadlines.get("rule_versions") is not None
        and _is_stale(
            request_type,
            deadlines.get(REVIEWED_VERSIONS_KEY) or deadlines["rule_versions"],
            changed,
            after,
            versions,
        )
    ]
    if not stale_ids:
        return 0
    now = timezone.now()
    flagged = candidates.filter(pk__in=stale_ids).update(
        deadline_snapshot_stale_since=now, updated_at=now
    )
    _append_audit_event(
        apps,
        connection,
        organization_id=organization_id,
        action="requests.deadlines_flagged",
        changes={"requests_flagged": flagged, "cause": "rule_selection"},
    )
    return flagged


def _already_moved(apps: Any, organization_id: int) -> bool:
    AuditEvent = apps.get_model("audit", "AuditEvent")
    return bool(
        AuditEvent.objects.filter(
            organization_id=organization_id,
            action="deadlines.rule_selection_changed",
            actor_label=ACTOR_LABEL,
        ).exists()
    )


def move_to_service_level(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('k12cloud.all_tenants', 'on', true)")
    JurisdictionRule = apps.get_model("privacy_requests", "JurisdictionRule")
    Organization = apps.get_model("accounts", "Organization")
    Selection = apps.get_model("privacy_requests", "OrganizationRuleSelection")

    if not JurisdictionRule.objects.filter(rule_id=SERVICE_LEVEL).exists():
        JurisdictionRule.objects.create(**SERVICE_LEVEL_ROW)
    versions = _versions(apps, {POLICY, SERVICE_LEVEL})

    organizations = Organization.objects.exclude(kind="platform").order_by("pk")
    for organization in organizations.values("pk", "kind", "country", "subdivision"):
        stored = list(
            Selection.objects.filter(organization_id=organization["pk"])
            .order_by("rule_id")
            .values_list("rule_id", flat=True)
        )
        before = stored or old_default_rule_ids(
            organization["kind"], organization["country"], organization["subdivision"]
        )
        if POLICY not in before:
            continue  # turned off by the organization: its choice stands
        if not stored and _already_moved(apps, organization["pk"]):
            continue  # a second run: it follows the new defaults since the first
        after = _replaced(before)
        if stored:
            Selection.objects.filter(organization_id=organization["pk"], rule_id=POLICY).delete()
            if SERVICE_LEVEL not in stored:
                Selection.objects.create(organization_id=organization["pk"], rule_id=SERVICE_LEVEL)
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        _append_audit_event(
            apps,
            connection,
            organization_id=organization["pk"],
            action="deadlines.rule_selection_changed",
            changes={"added": added, "removed": removed, "cause": CAUSE},
        )
        _flag_stale_requests(
            apps,
            connection,
            organization_id=organization["pk"],
            changed=set(added) | set(removed),
            after=set(after),
            versions=versions,
        )


def restore_policy(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT set_config('k12cloud.all_tenants', 'on', true)")
    Selection = apps.get_model("privacy_requests", "OrganizationRuleSelection")
    for row in Selection.objects.filter(rule_id=SERVICE_LEVEL).exclude(
        organization__kind="platform"
    ):
        if not Selection.objects.filter(
            organization_id=row.organization_id, rule_id=POLICY
        ).exists():
            Selection.objects.create(organization_id=row.organization_id, rule_id=POLICY)
        row.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_recovery_code_throttling"),
        ("audit", "0004_audit_filter_indexes"),
        ("privacy_requests", "0009_rule_periods_bounded"),
    ]

    operations = [
        # request types read as words in pages and exports (privacy_requests.labels): the
        # choices' labels only, no change to the database
        migrations.AlterField(
            model_name="contractrule",
            name="request_types",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(choices=REQUEST_TYPE_CHOICES, max_length=32), size=None
            ),
        ),
        migrations.AlterField(
            model_name="jurisdictionrule",
            name="request_types",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(choices=REQUEST_TYPE_CHOICES, max_length=32), size=None
            ),
        ),
        migrations.AlterField(
            model_name="privacyrequest",
            name="request_type",
            field=models.CharField(choices=REQUEST_TYPE_CHOICES, max_length=32),
        ),
        migrations.RunPython(move_to_service_level, restore_policy),
    ]
