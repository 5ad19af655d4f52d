"""What the full export does with each tenant-owned model: one decision per model, here.

Every `k12cloud.models.TenantOwnedModel` subclass has an entry (exports/tests/test_registry.py
fails otherwise, naming the model), so a new model cannot slip out of the customer's export
unnoticed. An entry is either

    Export(...)      every row of the organization, every concrete field, encrypted fields
                     decrypted; with
                       files={"content": File(name_field="file_name")}  an encrypted base64
                                 field that becomes a file of its own in the ZIP (the row then
                                 holds its path, size and SHA-256)
                       omit={"secret_hash": "why"}  fields left out, each with its reason
                       related={"user": ("email", "full_name")}  values of a foreign row that
                                 is not the organization's own (a member's user)
    Excluded("why")  no rows at all, with the reason

Blind indexes (BlindIndexField) are always left out: keyed hashes of values the export holds in
plain text, useless without the key. Adding a model is a one-line change: its label and a
decision. Models that are not tenant-owned but carry an organization column (the audit log)
may be listed too; they are exported by that column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from django.apps import apps
from django.db import models

from k12cloud.models import TenantOwnedModel


@dataclass(frozen=True)
class File:
    """An encrypted base64 field whose bytes become a file in the ZIP."""

    name_field: str | None = None  # the field holding the file's own name, if any
    default_name: str = "file.bin"  # the name when there is none


@dataclass(frozen=True)
class Export:
    files: Mapping[str, File] = field(default_factory=lambda: MappingProxyType({}))
    omit: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    related: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Excluded:
    reason: str


Decision = Export | Excluded

SECRET_HASH = "the SHA-256 of a secret shown once: it opens nothing and proves nothing outside"  # noqa: S105 (a reason, not a secret)
CREDENTIAL = "a credential for another system: rotate it there rather than export it"

REGISTRY: dict[str, Decision] = {
    # --- accounts ---
    "accounts.Membership": Export(related={"user": ("email", "full_name")}),
    "accounts.Invitation": Export(omit={"token_hash": SECRET_HASH}),
    "accounts.ApiKey": Export(omit={"secret_hash": SECRET_HASH}),
    "accounts.SsoConnection": Export(omit={"client_secret": CREDENTIAL}),
    # --- the audit log (not tenant-owned: platform events have no organization) ---
    "audit.AuditEvent": Export(),
    # --- the kernel ---
    "k12cloud.OrganizationDataKey": Excluded(
        "the organization's wrapped encryption keys: the export is decrypted, and keys never "
        "leave the key store"
    ),
    "notifications.OutboundEmail": Export(),
    "notifications.Notification": Export(),
    "notifications.NotificationPreference": Export(),
    "notifications.DeferredNotice": Excluded(
        "the queue of alerts waiting to be sent after a change commits: each becomes the "
        "Notification and OutboundEmail rows exported above"
    ),
    # --- privacy requests ---
    "privacy_requests.PrivacyRequest": Export(),
    "privacy_requests.RequestEvent": Export(),
    "privacy_requests.RequestMessage": Export(),
    "privacy_requests.RequesterToken": Export(omit={"token_hash": SECRET_HASH}),
    "privacy_requests.OrganizationRuleSelection": Export(),
    "privacy_requests.ContractRule": Export(),
    "privacy_requests.OrganizationClosure": Export(),
    "privacy_requests.ResponsePackage": Export(files={"content": File(default_name="package.zip")}),
    "privacy_requests.EvidenceFile": Export(files={"content": File(name_field="file_name")}),
    # --- retention ---
    "retention.RetentionRule": Export(),
    "retention.LegalHold": Export(),
    "retention.RetentionRun": Export(),
    "retention.DeidentificationCertificate": Export(),
    "retention.AgedRecord": Export(),
    # --- billing ---
    "billing.StripeCustomer": Export(),
    "billing.Subscription": Export(),
    "billing.PurchaseOrder": Export(
        files={"document": File(name_field="document_name", default_name="purchase-order.pdf")}
    ),
    "billing.Invoice": Export(),
    "billing.InvoiceLine": Export(),
    "billing.BillingContact": Export(),
    "billing.StripeEvent": Export(),
    # --- SIS sources ---
    "sources.DataSource": Export(omit={"client_secret": CREDENTIAL}),
    "sources.SourceImport": Export(),
    "sources.SisRecord": Export(),
    "sources.SisLookupKey": Excluded(
        "keyed hashes (blind indexes) of identifiers that sources.SisRecord holds in plain text"
    ),
    "sources.StudentLink": Export(),
    # --- vendors ---
    "vendors.Vendor": Export(),
    "vendors.VendorPolicy": Export(),
    "vendors.VendorTask": Export(omit={"link_token_hash": SECRET_HASH, "code_hash": SECRET_HASH}),
    "vendors.VendorTaskReceipt": Export(),
    "vendors.VendorFile": Export(files={"content": File(name_field="name")}),
    # --- incidents (the register regulators ask for; lists of families and staff notified) ---
    "incidents.Incident": Export(),
    "incidents.IncidentLeg": Export(),
    "incidents.LawEnforcementDelay": Export(),
    "incidents.IncidentCascade": Export(),
    "incidents.RecipientList": Export(),
    "incidents.Recipient": Export(),
    "incidents.Notice": Export(),
    "incidents.NoticeDelivery": Export(),
    "incidents.RegulatorSubmission": Export(),
    # --- trust center ---
    "trust.DpaAcceptance": Export(related={"user": ("email", "full_name")}),
    "trust.DocumentObjection": Export(related={"user": ("email", "full_name")}),
    "trust.BannerDismissal": Excluded(
        "which portal banners a member closed: interface state, not the organization's records"
    ),
    # --- exports: the history of exports itself ---
    "exports.OrganizationExport": Export(),
}


def tenant_model_labels() -> list[str]:
    return sorted(
        m._meta.label
        for m in apps.get_models()
        if issubclass(m, TenantOwnedModel) and not m._meta.proxy and m._meta.managed
    )


def missing_decisions(labels: list[str] | None = None) -> list[str]:
    """Tenant-owned models with no entry in REGISTRY (must be empty)."""
    return [label for label in labels or tenant_model_labels() if label not in REGISTRY]


def registry_problems() -> list[str]:
    """Entries that name no model, no field, or a model without an organization column."""
    problems = []
    for label, decision in REGISTRY.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            problems.append(f"{label}: no such model")
            continue
        names = {f.name for f in model._meta.concrete_fields}
        if "organization" not in names:
            problems.append(f"{label}: has no organization column")
        if isinstance(decision, Excluded):
            if not decision.reason.strip():
                problems.append(f"{label}: excluded without a reason")
            continue
        for name in [*decision.files, *decision.omit, *decision.related]:
            if name not in names:
                problems.append(f"{label}: no field {name!r}")
        for name, spec in decision.files.items():
            if spec.name_field and spec.name_field not in names:
                problems.append(f"{label}: files[{name!r}] names no field {spec.name_field!r}")
        for name, reason in decision.omit.items():
            if not reason.strip():
                problems.append(f"{label}: omits {name!r} without a reason")
    return problems


@dataclass(frozen=True)
class Table:
    """An exported model, resolved: its fields in column order."""

    label: str
    model: type[models.Model]
    decision: Export
    fields: tuple[models.Field, ...]
    omitted: Mapping[str, str]

    @property
    def columns(self) -> list[str]:
        related = [f"{fk}.{name}" for fk, names in self.decision.related.items() for name in names]
        return [f.name for f in self.fields] + related


def exported_tables() -> Iterator[Table]:
    """The exported models in a stable order (by label), with their fields resolved."""
    from k12cloud.encryption.fields import BlindIndexField

    for label in sorted(REGISTRY):
        decision = REGISTRY[label]
        if isinstance(decision, Excluded):
            continue
        model = apps.get_model(label)
        omitted = dict(decision.omit)
        fields = []
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, BlindIndexField):
                omitted[model_field.name] = "a blind index: a keyed hash of an exported value"
            elif model_field.name not in decision.omit:
                fields.append(model_field)
        yield Table(label, model, decision, tuple(fields), MappingProxyType(omitted))


def excluded_tables() -> list[tuple[str, str]]:
    return [(label, d.reason) for label, d in sorted(REGISTRY.items()) if isinstance(d, Excluded)]
