"""Every tenant-owned model has an export decision (exports/registry.py), and every decision
names real models and fields: a new model cannot be left out of the customer's export
unnoticed."""

from __future__ import annotations

from django.apps import apps

from exports.registry import (
    REGISTRY,
    Excluded,
    Export,
    exported_tables,
    missing_decisions,
    registry_problems,
    tenant_model_labels,
)


def test_every_tenant_owned_model_has_an_export_decision() -> None:
    missing = missing_decisions()
    assert missing == [], (
        f"add an export decision for {missing} to exports/registry.py: Export(...) or "
        "Excluded('the reason')"
    )


def test_a_model_without_a_decision_is_reported() -> None:
    """The check itself: a label it has never seen is named (what the test above fails on)."""
    assert missing_decisions([*tenant_model_labels(), "newapp.NewModel"]) == ["newapp.NewModel"]


def test_every_decision_names_real_models_fields_and_reasons() -> None:
    assert registry_problems() == []


def test_exclusions_are_few_and_explained() -> None:
    excluded = {label: d.reason for label, d in REGISTRY.items() if isinstance(d, Excluded)}
    assert set(excluded) == {
        "k12cloud.OrganizationDataKey",
        "sources.SisLookupKey",
        "trust.BannerDismissal",
        "notifications.DeferredNotice",
    }
    assert all(len(reason) > 30 for reason in excluded.values())


def test_every_encrypted_file_field_is_exported_as_a_file() -> None:
    """Base64 in an encrypted column is a stored file: it goes into the ZIP as bytes."""
    files = {(t.label, name) for t in exported_tables() for name in t.decision.files}
    assert files == {
        ("privacy_requests.ResponsePackage", "content"),
        ("privacy_requests.EvidenceFile", "content"),
        ("billing.PurchaseOrder", "document"),
        ("vendors.VendorFile", "content"),
    }


def test_blind_indexes_are_left_out_with_their_reason() -> None:
    tables = {t.label: t for t in exported_tables()}
    request = tables["privacy_requests.PrivacyRequest"]
    assert "requester_email_index" in request.omitted
    assert "requester_email_index" not in request.columns
    assert "requester_email" in request.columns


def test_the_audit_log_is_exported_by_its_organization_column() -> None:
    assert isinstance(REGISTRY["audit.AuditEvent"], Export)
    model = apps.get_model("audit.AuditEvent")
    assert "organization" in {f.name for f in model._meta.concrete_fields}
