"""The tenant context (layer 4) and PostgreSQL row-level security (layer 5)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import signals
from django.db.utils import ProgrammingError
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Organization
from accounts.permissions import Role
from k12cloud import tenancy
from k12cloud.models import tenant_row_insert
from k12cloud.notifications.models import DeferredNotice
from k12cloud.tenancy import (
    TenantContextMissing,
    tenant_context,
    unscoped_all_tenants,
    user_context,
)
from tests.conftest import Tenant
from tests.protocol import server_queries

pytestmark = pytest.mark.django_db


def raw_membership_org_ids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT organization_id FROM accounts_membership")
        return {row[0] for row in cursor.fetchall()}


def test_querying_a_tenant_model_without_context_fails_loudly(tenant_a: Tenant) -> None:
    with pytest.raises(TenantContextMissing, match=r"accounts\.Membership"):
        list(Membership.objects.all())


def test_creating_a_tenant_row_without_context_fails_loudly(tenant_a: Tenant) -> None:
    with pytest.raises(TenantContextMissing, match=r"accounts\.Membership"):
        Membership.objects.create(
            organization=tenant_a.organization, user=tenant_a.admin, role=Role.VIEWER
        )


def test_context_shows_only_its_own_rows(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a.organization):
        emails = set(Membership.objects.values_list("user__email", flat=True))
    assert emails == {"admin@a.example", "viewer@a.example"}


def test_rls_hides_other_tenants_rows_from_raw_sql(tenant_a: Tenant, tenant_b: Tenant) -> None:
    # raw SQL skips every application layer: only row-level security is left
    assert raw_membership_org_ids() == set()
    with tenant_context(tenant_b.organization):
        assert raw_membership_org_ids() == {tenant_b.organization.pk}


def test_rls_refuses_writing_a_row_into_another_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with pytest.raises(ProgrammingError, match="row-level"), tenant_context(tenant_a.organization):
        Membership._base_manager.create(
            organization=tenant_b.organization, user=tenant_a.viewer, role=Role.VIEWER
        )


def test_the_managers_create_into_another_tenant_is_refused(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    # TenantManager.create builds no filter: row-level security is what refuses this
    with pytest.raises(ProgrammingError, match="row-level"), tenant_context(tenant_a.organization):
        Membership.objects.create(
            organization=tenant_b.organization, user=tenant_a.viewer, role=Role.VIEWER
        )


def test_rls_refuses_moving_a_row_to_another_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with (
        pytest.raises(ProgrammingError, match="row-level"),
        tenant_context(tenant_a.organization),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE accounts_membership SET organization_id = %s", [tenant_b.organization.pk]
        )


def test_nested_context_restores_the_outer_one(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a.organization):
        with tenant_context(tenant_b.organization):
            assert raw_membership_org_ids() == {tenant_b.organization.pk}
        assert tenancy.current_organization_id() == tenant_a.organization.pk
        assert raw_membership_org_ids() == {tenant_a.organization.pk}


def test_settings_do_not_outlive_the_transaction(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a.organization):
        assert raw_membership_org_ids() == {tenant_a.organization.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('k12cloud.organization_id', true)")
        assert cursor.fetchone()[0] in ("", None)


def test_rolled_back_inner_context_leaves_outer_intact(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a.organization):
        with pytest.raises(IntegrityError), tenant_context(tenant_b.organization):
            Membership.objects.create(
                organization=tenant_b.organization, user=tenant_b.admin, role=Role.VIEWER
            )  # duplicate (organization, user)
        assert raw_membership_org_ids() == {tenant_a.organization.pk}


def test_user_context_sees_only_own_memberships_across_tenants(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_b.organization):
        Membership.objects.create(
            organization=tenant_b.organization, user=tenant_a.admin, role=Role.VIEWER
        )
    with user_context(tenant_a.admin.pk):
        mine = Membership.objects.of_user(tenant_a.admin.pk)
        assert {m.organization_id for m in mine} == {
            tenant_a.organization.pk,
            tenant_b.organization.pk,
        }
        # RLS: the same user context reveals nobody else's memberships
        assert len(raw_membership_org_ids()) == 2
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM accounts_membership WHERE user_id <> %s", [tenant_a.admin.pk]
            )
            assert cursor.fetchone()[0] == 0


def test_user_context_cannot_list_someone_elses_memberships(tenant_a: Tenant) -> None:
    with user_context(tenant_a.admin.pk), pytest.raises(tenancy.TenantMismatch):
        Membership.objects.of_user(tenant_a.viewer.pk)


def test_user_context_cannot_write_memberships(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with pytest.raises(ProgrammingError, match="row-level"), user_context(tenant_a.admin.pk):
        Membership._base_manager.create(
            organization=tenant_b.organization, user=tenant_a.admin, role=Role.ORG_ADMIN
        )


def test_unscoped_escape_hatch_needs_a_reason_and_sees_everything(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with pytest.raises(ValueError, match="reason"), unscoped_all_tenants(reason=" "):
        pass
    with unscoped_all_tenants(reason="test: ops report"):
        assert raw_membership_org_ids() == {tenant_a.organization.pk, tenant_b.organization.pk}
        assert Membership.objects.count() == 4


def test_for_organization_refuses_a_different_organization(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_a.organization), pytest.raises(tenancy.TenantMismatch):
        Membership.objects.for_organization(tenant_b.organization)


def test_tests_run_as_the_runtime_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass = cursor.fetchone()
    assert (superuser, bypass) == (False, False)
    from django.conf import settings

    assert user == settings.DATABASE_APP_ROLE


def test_memberships_are_readable_in_the_request_that_signs_in(tenant_a: Tenant) -> None:
    """The sign-in request starts anonymous; after login it may still list the new user's orgs."""
    from django.test import RequestFactory

    from k12cloud.portal import memberships_of

    request = RequestFactory().get("/")
    request.user = tenant_a.admin
    with user_context(None):  # what the middleware set while the visitor was anonymous
        assert [m.organization.slug for m in memberships_of(request)] == ["lincoln-usd"]


# --- statements (issue #20): no restore before the end of a transaction, a deferred one otherwise


def current_settings() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting(%s, true), current_setting(%s, true), "
            "current_setting(%s, true)",
            [tenancy.ORGANIZATION_SETTING, tenancy.USER_SETTING, tenancy.ALL_TENANTS_SETTING],
        )
        organization, user, all_tenants = cursor.fetchone()
        return organization or "", user or "", all_tenants or ""


def test_escape_hatch_inside_a_tenant_context_gives_the_tenant_back(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_a.organization):
        with unscoped_all_tenants(reason="test: nested escape hatch"):
            assert raw_membership_org_ids() == {tenant_a.organization.pk, tenant_b.organization.pk}
        assert raw_membership_org_ids() == {tenant_a.organization.pk}
        assert current_settings() == (str(tenant_a.organization.pk), "", "")


def test_tenant_context_inside_a_user_context_gives_the_user_back(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    user_id = tenant_a.admin.pk
    with user_context(user_id):
        with tenant_context(tenant_b.organization):
            assert current_settings() == (str(tenant_b.organization.pk), str(user_id), "")
        assert current_settings() == ("", str(user_id), "")
        assert raw_membership_org_ids() == {tenant_a.organization.pk}  # only the user's own


def test_a_rolled_back_savepoint_after_a_nested_context_still_restores(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    # the first inner context's settings are still in the database (restore deferred) when
    # the savepoint is taken; rolling back to it brings them back, and the restore must follow
    with tenant_context(tenant_a.organization):
        with unscoped_all_tenants(reason="test: inner"):
            pass
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(
                organization=tenant_a.organization, user=tenant_a.admin, role=Role.VIEWER
            )  # duplicate (organization, user)
        assert raw_membership_org_ids() == {tenant_a.organization.pk}
        with pytest.raises(IntegrityError), tenant_context(tenant_b.organization):
            Membership.objects.create(
                organization=tenant_b.organization, user=tenant_b.admin, role=Role.VIEWER
            )
        assert raw_membership_org_ids() == {tenant_a.organization.pk}


def test_a_raw_psycopg_cursor_needs_settings_in_force(tenant_a: Tenant, tenant_b: Tenant) -> None:
    def raw_psycopg_org_ids() -> set[int]:
        with psycopg.Cursor(connection.connection) as raw:
            raw.execute("SELECT organization_id FROM accounts_membership")
            return {row[0] for row in raw.fetchall()}

    with tenant_context(tenant_a.organization):
        with tenant_context(tenant_b.organization):
            pass
        # no execute wrapper sees this cursor: the restore is still pending, B's settings hold
        assert raw_psycopg_org_ids() == {tenant_b.organization.pk}
        tenancy.settings_in_force()
        assert raw_psycopg_org_ids() == {tenant_a.organization.pk}


@pytest.mark.django_db(transaction=True)
def test_leaving_the_outermost_context_sends_no_restore(tenant_a: Tenant) -> None:
    with (
        CaptureQueriesContext(connection) as captured,
        user_context(tenant_a.admin.pk),
        tenant_context(tenant_a.organization),
    ):
        pass
    statements = [q["sql"].split(" ")[0] for q in captured.captured_queries]
    # BEGIN with the user's settings, the tenant's savepoint with its settings, release,
    # COMMIT: the user context's settings are not put back between RELEASE and COMMIT, nor
    # cleared at the end
    assert statements == ["BEGIN;", "SAVEPOINT", "RELEASE", "COMMIT"]
    assert current_settings() == ("", "", "")  # autocommit: a new transaction, no settings


def test_a_nested_restore_is_one_statement_before_the_next_query(tenant_a: Tenant) -> None:
    with user_context(tenant_a.admin.pk):
        with tenant_context(tenant_a.organization):
            pass
        with CaptureQueriesContext(connection) as captured:
            raw_membership_org_ids()
    assert [q["sql"] for q in captured.captured_queries] == [
        "SELECT set_config('k12cloud.organization_id', '', true), "
        f"set_config('k12cloud.user_id', '{tenant_a.admin.pk}', true), "
        "set_config('k12cloud.all_tenants', '', true)",
        "SELECT organization_id FROM accounts_membership",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_request_spends_four_statements_on_its_transaction_and_tenancy(
    tenant_a: Tenant,
) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.tests.factories import sign_in

    client = sign_in(Client(), tenant_a.admin)
    url = reverse("accounts:dashboard", kwargs={"org_slug": tenant_a.organization.slug})
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    bookkeeping = [
        q["sql"].split(" ")[0]
        for q in captured.captured_queries
        if q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "SELECT set_config"))
    ]
    # the request's transaction with the user's settings; the organization page's savepoint
    # with its settings; its release; COMMIT. No restore before the COMMIT.
    assert bookkeeping == ["BEGIN;", "SAVEPOINT", "RELEASE", "COMMIT"]


# --- a nested context's savepoint and settings in one round trip (issue #20)


def test_a_nested_context_sends_its_savepoint_and_settings_together(tenant_a: Tenant) -> None:
    organization_id = tenant_a.organization.pk
    with (
        user_context(tenant_a.admin.pk),
        CaptureQueriesContext(connection) as captured,
        tenant_context(organization_id),
    ):
        assert current_settings() == (str(organization_id), str(tenant_a.admin.pk), "")
    entry = captured.captured_queries[0]["sql"]
    assert entry.startswith('SAVEPOINT "')
    assert entry.endswith(
        "; SELECT set_config('k12cloud.organization_id', "
        f"'{organization_id}', true), "
        f"set_config('k12cloud.user_id', '{tenant_a.admin.pk}', true), "
        "set_config('k12cloud.all_tenants', '', true)"
    )
    # the entry, current_settings(), the release
    assert [q["sql"].split(" ")[0] for q in captured.captured_queries] == [
        "SAVEPOINT",
        "SELECT",
        "RELEASE",
    ]


def test_the_server_receives_one_round_trip_per_nested_entry(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    def nested() -> None:
        with tenant_context(tenant_b.organization):
            raw_membership_org_ids()
        with unscoped_all_tenants(reason="test: round trips"):
            raw_membership_org_ids()

    with tenant_context(tenant_a.organization):
        received = server_queries(nested)
    # each context: its savepoint with its settings, its query, its release; the restore of
    # tenant A's settings is still pending at the end (nothing ran after the escape hatch)
    assert len(received) == 6
    assert [query.split(" ")[0] for query in received] == [
        '"SAVEPOINT',
        '"SELECT',
        '"RELEASE',
        '"SAVEPOINT',
        '"SELECT',
        '"RELEASE',
    ]
    assert "set_config('k12cloud.organization_id'" in received[0]
    assert "set_config('k12cloud.all_tenants', 'on', true)" in received[3]


def test_a_failed_entry_rolls_back_to_its_savepoint_and_the_outer_context_goes_on(
    tenant_a: Tenant, tenant_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the entry's settings fail on the server after its savepoint was made (a division by zero
    # stands in for whatever could make them fail): the caller that catches the error still
    # has a usable transaction, with the enclosing context's rows, as before the one round trip
    with tenant_context(tenant_a.organization):
        monkeypatch.setattr(tenancy, "_settings_sql", lambda state, raw: "SELECT 1 / 0")
        with (
            pytest.raises(DataError, match="division by zero"),
            tenant_context(tenant_b.organization),
        ):
            pytest.fail("the block of a context that failed to enter ran")
        monkeypatch.undo()
        assert tenancy.current_organization_id() == tenant_a.organization.pk
        assert raw_membership_org_ids() == {tenant_a.organization.pk}
        assert current_settings() == (str(tenant_a.organization.pk), "", "")


# --- the outermost context: BEGIN and its settings in one round trip (issue #20)


@pytest.mark.django_db(transaction=True)
def test_the_server_receives_one_round_trip_for_the_outermost_entry(tenant_a: Tenant) -> None:
    organization_id = tenant_a.organization.pk

    def outermost() -> None:
        with tenant_context(organization_id):
            assert raw_membership_org_ids() == {organization_id}

    received = server_queries(outermost)
    # BEGIN with the settings, the query, COMMIT: psycopg sent no BEGIN of its own
    assert received == [
        "\"BEGIN; SELECT set_config('k12cloud.organization_id', "
        f"'{organization_id}', true), set_config('k12cloud.user_id', '', true), "
        "set_config('k12cloud.all_tenants', '', true)\"",
        '"SELECT organization_id FROM accounts_membership"',
        '"COMMIT"',
    ]
    assert current_settings() == ("", "", "")  # autocommit again: the settings went with it


@pytest.mark.django_db(transaction=True)
def test_the_outermost_entry_is_one_entry_in_the_query_log(tenant_a: Tenant) -> None:
    with (
        CaptureQueriesContext(connection) as captured,
        unscoped_all_tenants(reason="test: the query log"),
    ):
        pass
    assert [q["sql"] for q in captured.captured_queries] == [
        "BEGIN; SELECT set_config('k12cloud.organization_id', '', true), "
        "set_config('k12cloud.user_id', '', true), set_config('k12cloud.all_tenants', 'on', true)",
        "COMMIT",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_outermost_begin_keeps_the_connections_isolation_level(tenant_a: Tenant) -> None:
    connection.ensure_connection()
    raw = connection.connection
    raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with tenant_context(tenant_a.organization), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('transaction_isolation')")
            assert cursor.fetchone() == ("repeatable read",)
            assert raw_membership_org_ids() == {tenant_a.organization.pk}
    finally:
        raw.isolation_level = None


@pytest.mark.django_db(transaction=True)
def test_a_failed_outermost_entry_raises_and_leaves_no_transaction_behind(
    tenant_a: Tenant, tenant_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the settings fail on the server after BEGIN (a division by zero stands in for whatever
    # could make them fail): Django's error, the block never runs, the transaction is rolled
    # back, and the next context on the same connection works
    monkeypatch.setattr(tenancy, "_settings_sql", lambda state, raw: "SELECT 1 / 0")
    with pytest.raises(DataError, match="division by zero"), tenant_context(tenant_b.organization):
        pytest.fail("the block of a context that failed to enter ran")
    monkeypatch.undo()
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert not connection.in_atomic_block
    with tenant_context(tenant_a.organization):
        assert raw_membership_org_ids() == {tenant_a.organization.pk}
    assert current_settings() == ("", "", "")


@pytest.mark.django_db(transaction=True)
def test_an_outermost_entry_on_a_dropped_connection_fails_one_request_only(
    tenant_a: Tenant,
) -> None:
    from django.db import OperationalError, close_old_connections

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError), tenant_context(tenant_a.organization):
        pytest.fail("the block ran on a dropped connection")
    close_old_connections()  # what the end of a request does: the broken connection goes
    with tenant_context(tenant_a.organization):
        assert raw_membership_org_ids() == {tenant_a.organization.pk}


# --- tenant_row_insert: create() in one statement written once per model (issue #20) -------


def _notice(organization: Organization, key: str = "k") -> DeferredNotice:
    return DeferredNotice(
        organization=organization,
        recipient_ids=[7, 3],
        kind="request_new",
        title="New privacy request",
        url="/o/x/requests/1/",
        email_context={"link": "https://portal.example/o/x/requests/1/"},
        dedupe_key=key,
    )


def test_the_plain_insert_fails_closed_outside_a_context(tenant_a: Tenant) -> None:
    with pytest.raises(TenantContextMissing, match="DeferredNotice"):
        tenant_row_insert(_notice(tenant_a.organization))


def test_the_plain_insert_into_another_tenant_is_refused(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with pytest.raises(ProgrammingError, match="row-level"), tenant_context(tenant_a.organization):
        tenant_row_insert(_notice(tenant_b.organization))


def test_the_plain_insert_writes_the_row_create_writes(tenant_a: Tenant) -> None:
    organization = tenant_a.organization
    with tenant_context(organization):
        ours = _notice(organization, "ours")
        with CaptureQueriesContext(connection) as captured:
            tenant_row_insert(ours)
        assert len(captured.captured_queries) == 1
        assert ours.pk is not None and not ours._state.adding and ours._state.db == "default"
        theirs = DeferredNotice.objects.create(
            **{
                f.attname: getattr(_notice(organization, "theirs"), f.attname)
                for f in DeferredNotice._meta.concrete_fields
                if not f.primary_key and f.name != "created_at"
            }
        )
        stored = {n.dedupe_key: n for n in DeferredNotice.objects.all()}
    compared = [
        f.attname
        for f in DeferredNotice._meta.concrete_fields
        if f.name not in {"id", "created_at", "dedupe_key"}
    ]
    assert [getattr(stored["ours"], n) for n in compared] == [
        getattr(stored["theirs"], n) for n in compared
    ]
    assert stored["ours"].pk == ours.pk and stored["theirs"].pk == theirs.pk
    assert stored["ours"].created_at == ours.created_at


def test_a_model_observed_on_save_is_saved_by_save(tenant_a: Tenant) -> None:
    seen: list[object] = []

    def observe(sender: object, instance: object, **kwargs: object) -> None:
        seen.append(instance)

    signals.pre_save.connect(observe, sender=DeferredNotice, weak=False)
    try:
        with tenant_context(tenant_a.organization):
            notice = _notice(tenant_a.organization)
            tenant_row_insert(notice)
            assert DeferredNotice.objects.filter(pk=notice.pk).exists()
    finally:
        signals.pre_save.disconnect(observe, sender=DeferredNotice)
    assert seen == [notice]


# --- a SELECT that is its own transaction: select_acting_for (issue #20)

_MEMBER_ORGANIZATIONS = (
    "(SELECT array_agg(DISTINCT organization_id ORDER BY organization_id) FROM accounts_membership)"
)


@pytest.mark.django_db(transaction=True)
def test_a_select_alone_sets_its_context_itself_in_one_round_trip(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    organization_id = tenant_a.organization.pk
    # the first call prepares the statement on this connection (a round trip of its own)
    assert tenancy.select_acting_for(organization_id, _MEMBER_ORGANIZATIONS, []) == (
        [organization_id],
    )
    rows: list[tuple[object, ...]] = []

    def alone() -> None:
        rows.append(tenancy.select_acting_for(organization_id, _MEMBER_ORGANIZATIONS, []))

    with CaptureQueriesContext(connection) as captured:
        received = server_queries(alone)
    assert received == ["Sync"]  # one extended-protocol round trip: the prepared statement
    # the settings were made before the select list ran: row-level security hid B's rows
    assert rows == [([organization_id],)]
    assert [q["sql"] for q in captured.captured_queries] == [
        "WITH acting AS MATERIALIZED (SELECT set_config('k12cloud.organization_id', "
        f"'{organization_id}', true), set_config('k12cloud.user_id', '', true), "
        "set_config('k12cloud.all_tenants', '', true)) "
        f"SELECT {_MEMBER_ORGANIZATIONS} FROM acting"
    ]
    # the implicit transaction ended with the statement and took its settings along
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert current_settings() == ("", "", "")


@pytest.mark.django_db(transaction=True)
def test_a_select_alone_that_fails_raises_djangos_error_and_leaves_nothing(
    tenant_a: Tenant,
) -> None:
    with pytest.raises(DataError, match="division by zero"):
        tenancy.select_acting_for(
            tenant_a.organization, "(SELECT count(*) FROM accounts_membership) / 0", []
        )
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert current_settings() == ("", "", "")
    assert tenancy.select_acting_for(tenant_a.organization, _MEMBER_ORGANIZATIONS, []) == (
        [tenant_a.organization.pk],
    )


@pytest.mark.django_db(transaction=True)
def test_a_select_alone_for_all_tenants_needs_a_reason_and_is_logged(
    tenant_a: Tenant, tenant_b: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        tenancy.select_acting_for(None, _MEMBER_ORGANIZATIONS, [], all_tenants_reason=" ")
    caplog.set_level("INFO", logger="k12cloud.tenancy")
    row = tenancy.select_acting_for(
        None, _MEMBER_ORGANIZATIONS, [], all_tenants_reason="test: every member"
    )
    assert row == (sorted([tenant_a.organization.pk, tenant_b.organization.pk]),)
    assert "entering an all-tenants context: test: every member" in caplog.messages
    assert current_settings() == ("", "", "")


def test_inside_a_transaction_the_select_runs_in_a_context(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a, b = tenant_a.organization.pk, tenant_b.organization.pk
    with tenant_context(a):
        # another organization: a nested context for the statement, and A's back after it
        assert tenancy.select_acting_for(b, _MEMBER_ORGANIZATIONS, []) == ([b],)
        assert raw_membership_org_ids() == {a}
        # the current organization: the statement alone, no savepoint
        with CaptureQueriesContext(connection) as captured:
            assert tenancy.select_acting_for(a, _MEMBER_ORGANIZATIONS, []) == ([a],)
        assert [q["sql"] for q in captured.captured_queries] == [f"SELECT {_MEMBER_ORGANIZATIONS}"]
