"""Meta-tests: the tenancy layers cannot be forgotten by a new model, view or table."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, models
from django.urls import URLPattern, URLResolver, get_resolver

from k12cloud.api import OrganizationViewSet
from k12cloud.models import TenantOwnedModel
from k12cloud.portal import OrganizationView
from k12cloud.rls import tables_with_organization_column

# Models that are not owned by one organization, and why.
PLATFORM_MODELS = {
    "accounts.Organization": "the tenant registry itself; holds nothing personal",
    "accounts.User": "one person may belong to several organizations",
    "auth.Group": "ops staff permission groups",
    "auth.Permission": "Django's permission catalogue",
    "contenttypes.ContentType": "Django's model catalogue",
    "sessions.Session": "a signed-in browser; carries no tenant data",
    "admin.LogEntry": "ops staff actions in the Django admin",
    "account.EmailAddress": "a user's login addresses (platform-level, like User)",
    "account.EmailConfirmation": "a user's login address confirmation",
    "otp_totp.TOTPDevice": "a user's second factor (platform-level, like User)",
    "accounts.RecoveryCodeDevice": "a user's recovery codes, hashed (platform-level, like User)",
    "accounts.RecoveryCode": "one hashed recovery code of a user (platform-level, like User)",
    "accounts.WebAuthnCredential": "a user's passkey, public key only (platform-level, like User)",
    "socialaccount.SocialApp": "unused: accounts.sso builds each organization's app, unsaved",
    "socialaccount.SocialAccount": "unused: single sign-on matches members by address",
    "socialaccount.SocialToken": "unused: SOCIALACCOUNT_STORE_TOKENS is off",
    "audit.AuditEvent": (
        "platform events have no organization; its own RLS policy scopes organization events"
    ),
    "accounts.UserSession": "a user's signed-in browser (platform-level, like User and Session)",
    "axes.AccessAttempt": "failed sign-ins per email address (lockout); before any tenant is known",
    "axes.AccessAttemptExpiration": "the expiry of an axes.AccessAttempt",
    "axes.AccessLog": "axes's sign-in log (disabled: AXES_DISABLE_ACCESS_LOG)",
    "axes.AccessFailureLog": "axes's failure log (disabled by default)",
    "audit.AuditChainHead": "the end of each audit chain, the platform's too; its own RLS policy",
    "audit.AuditCheckpoint": (
        "signed heads of the audit chains, the platform's too; scoped by its own RLS policy"
    ),
    "notifications.TaskRun": "runs of platform-wide periodic tasks (beat); no tenant data",
    "privacy_requests.JurisdictionRule": (
        "the deadline rules table ops staff edit; the law is the same for every tenant"
    ),
    "billing.Plan": "k-12.cloud's price list (Stripe prices), the same for every tenant",
    "backups.Backup": "a backup of the whole database (every tenant); ops-only, no personal data",
    "backups.RestoreDrill": "a restore drill of a whole-database backup; ops-only, no tenant data",
    # --- trust center (trust/) ---
    "trust.DocumentVersion": (
        "k-12.cloud's own DPA, policies and subprocessor list: the same text for every tenant"
    ),
    "trust.MaintenanceWindow": "k-12.cloud's maintenance of the shared platform, for every tenant",
    "trust.HealthCheck": "the platform's minute-by-minute health (status page); no tenant data",
    # --- end of trust center ---
    "incidents.BreachRule": (
        "the breach-notification rules table ops staff edit; the law is the same for every tenant"
    ),
}
# Foreign keys of tenant-owned models that may carry their own single-column index.
CROSS_TENANT_INDEXES = {("accounts.Membership", "user"): "the switcher lists a user's orgs"}


def concrete_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed]


def tenant_models() -> list[type[models.Model]]:
    return [m for m in concrete_models() if issubclass(m, TenantOwnedModel)]


def test_every_model_is_tenant_owned_or_explicitly_platform_level() -> None:
    unclassified = [
        m._meta.label
        for m in concrete_models()
        if not issubclass(m, TenantOwnedModel) and m._meta.label not in PLATFORM_MODELS
    ]
    assert unclassified == [], "make these TenantOwnedModel or add them to PLATFORM_MODELS"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_tenant_model_shape(model: type[models.Model]) -> None:
    field = model._meta.get_field("organization")
    assert isinstance(field, models.ForeignKey)
    assert not field.null
    assert field.remote_field.on_delete is models.PROTECT
    for index in model._meta.indexes:
        assert index.fields[0] == "organization", f"{index.name} must lead with organization"
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            assert constraint.fields[0] == "organization", f"{constraint.name} must lead with it"
    for f in model._meta.get_fields():
        if getattr(f, "db_index", False) and f.name != "organization" and f.concrete:
            assert (model._meta.label, f.name) in CROSS_TENANT_INDEXES, (
                f"{model._meta.label}.{f.name} has an index not led by organization"
            )


@pytest.mark.django_db
def test_every_tenant_table_has_forced_row_level_security() -> None:
    with connection.cursor() as cursor:
        protection = {t.table: t for t in tables_with_organization_column(cursor)}
    for model in tenant_models():
        table = protection.get(model._meta.db_table)
        assert table is not None and table.protected, f"{model._meta.db_table} lacks RLS"


def view_classes() -> list[type]:
    found: list[type] = []

    def walk(patterns: list) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern):
                cls = getattr(p.callback, "view_class", None) or getattr(p.callback, "cls", None)
                if cls is not None:
                    found.append(cls)

    walk(get_resolver().url_patterns)
    return found


def test_organization_views_declare_a_permission() -> None:
    portal = [c for c in view_classes() if issubclass(c, OrganizationView)]
    assert portal, "expected organization pages"
    assert [c.__name__ for c in portal if c.permission is None] == []


def test_organization_viewsets_declare_a_permission_per_action() -> None:
    viewsets = [c for c in view_classes() if issubclass(c, OrganizationViewSet)]
    assert viewsets, "expected organization API viewsets"
    for cls in viewsets:
        actions = {
            a
            for a in ("list", "retrieve", "create", "update", "partial_update", "destroy")
            if hasattr(cls, a)
        }
        assert actions <= set(cls.action_permissions), f"{cls.__name__} misses {actions}"


def test_a_view_cannot_override_the_checks() -> None:
    with pytest.raises(TypeError, match="dispatch"):
        type("Sneaky", (OrganizationView,), {"dispatch": lambda self, request: None})
    with pytest.raises(TypeError, match="initial"):
        type("SneakyApi", (OrganizationViewSet,), {"initial": lambda self, request: None})


def test_every_folder_of_tests_is_collected_by_the_suite() -> None:
    # `make test` and CI run pytest with the configured testpaths only: a new app's tests left
    # out of them never run (incidents, exports and backups once were, for a whole session)
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    testpaths = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"
    ]["testpaths"]
    with_tests = {
        str(path.parent.relative_to(root)).split("/")[0]
        for path in root.glob("*/**/test_*.py")
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
    }
    assert with_tests - set(testpaths) == set()
