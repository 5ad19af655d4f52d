"""What de-identification does to each model: per field, removed, replaced, generalized or kept.

Every tenant-owned model has a declaration, and every text, JSON, binary or address field of it
is named in exactly one list (retention/tests/test_declarations.py fails loudly otherwise, so a
new personal field cannot slip past the engine). The engine (retention.engine) applies them
set-based, chunk by chunk.

    remove           the value goes: NULL where the column allows it, else the empty value
                     (an encrypted column gets an encryption of "", so it still reads)
    replace          set to an expression of the row (e.g. a unique placeholder address)
    generalize_year  a date or time kept to its year only (January 1st)
    keep             statistics and structure: request type, status, outcome, dates, ids
    delete_rows      the row itself is personal and serves no statistic (access tokens)

Kept after termination (`policy.KEPT_AFTER_TERMINATION`): audit events (append-only and
hash-chained; their IP addresses and browsers are about staff and are kept with them for the
audit period: see docs/retention.md) and financial records (`billing.retention`: rows kept
as they are for 7 years; their encrypted fields go with the key). Billing contacts are not
financial records: they are de-identified like any account record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.db import models
from django.db.models.functions import Cast, Concat

from retention.policy import Category

Replacement = Callable[[], Any]


def placeholder_email() -> Any:
    """A unique address that is nobody's (RFC 2606 `.invalid`), from the row's id."""
    return Concat(
        models.Value("deidentified-"),
        Cast("pk", models.CharField()),
        models.Value("@deidentified.invalid"),
        output_field=models.CharField(),
    )


def empty_json_object() -> Any:
    return models.Value({}, output_field=models.JSONField())


@dataclass(frozen=True)
class Declaration:
    model: str  # app label and model name, e.g. "privacy_requests.PrivacyRequest"
    category: Category
    remove: tuple[str, ...] = ()
    replace: Mapping[str, Replacement] = field(default_factory=lambda: MappingProxyType({}))
    generalize_year: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    delete_rows: bool = False
    # not touched at all by the engine (key store: destroyed by its own service; retention's
    # own bookkeeping)
    engine_skips: bool = False

    @property
    def declared(self) -> tuple[str, ...]:
        return (*self.remove, *self.replace, *self.generalize_year, *self.keep)


DECLARATIONS: tuple[Declaration, ...] = (
    # --- privacy requests: keep what the statistics need (type, status, outcome, dates) ---
    Declaration(
        "privacy_requests.PrivacyRequest",
        Category.PRIVACY_REQUESTS,
        remove=(
            "requester_name",
            "requester_email",
            "requester_email_index",
            "requester_phone",
            "requester_address",
            "subject_name",
            "subject_school",
            # encrypted text: generalizing it would mean decrypting each row, so it goes
            "subject_birth_date",
            "subject_index",
            "details",
            "verification_evidence",
            "extension_reason",
            "closure_reason",
        ),
        keep=(
            "reference",
            "request_type",
            "status",
            "channel",
            "language",
            "relationship",
            "verification_method",
            "deadlines",
            "outcome",
            "routed_to_reference",
            "routed_from_reference",
        ),
    ),
    Declaration(
        "privacy_requests.RequestEvent",
        Category.PRIVACY_REQUESTS,
        replace=MappingProxyType({"data": empty_json_object}),
        keep=("kind", "from_status", "to_status"),
    ),
    Declaration(
        "privacy_requests.RequestMessage",
        Category.PRIVACY_REQUESTS,
        remove=("body",),
        keep=("direction",),
    ),
    Declaration(
        "privacy_requests.RequesterToken",
        Category.PRIVACY_REQUESTS,
        keep=("purpose", "token_hash"),
        delete_rows=True,
    ),
    Declaration(
        "privacy_requests.ResponsePackage",
        Category.UPLOADED_FILES,
        remove=("content",),
        keep=("contents", "language", "sha256"),  # file names and row counts only
    ),
    Declaration(
        "privacy_requests.EvidenceFile",
        Category.UPLOADED_FILES,
        remove=("content", "file_name", "description"),
        keep=("kind", "sha256"),
    ),
    # deadline configuration: the organization's, not anyone's personal data
    Declaration(
        "privacy_requests.OrganizationRuleSelection", Category.ACCOUNT_RECORDS, keep=("rule_id",)
    ),
    Declaration(
        "privacy_requests.ContractRule",
        Category.ACCOUNT_RECORDS,
        keep=("slug", "name", "source", "acknowledge_unit", "respond_unit"),
    ),
    Declaration("privacy_requests.OrganizationClosure", Category.ACCOUNT_RECORDS, keep=("reason",)),
    # --- account records ---
    Declaration("accounts.Membership", Category.ACCOUNT_RECORDS, keep=("role",)),
    Declaration(
        "accounts.Invitation",
        Category.ACCOUNT_RECORDS,
        replace=MappingProxyType({"email": placeholder_email}),
        keep=("role", "token_hash"),
    ),
    Declaration(
        "accounts.ApiKey",
        Category.ACCOUNT_RECORDS,
        remove=("name",),  # admins name keys after people ("Sam's sync")
        keep=("role", "prefix", "secret_hash"),
    ),
    Declaration(
        "accounts.SsoConnection",
        Category.ACCOUNT_RECORDS,
        remove=("client_secret",),
        keep=("provider", "client_id", "tenant_id", "allowed_domain"),
    ),
    # --- notifications ---
    Declaration(
        "notifications.OutboundEmail",
        Category.NOTIFICATIONS,
        remove=(
            "to",
            "reply_to",
            "subject",
            "body_text",
            "body_html",
            "message_id",
            "dedupe_key",
        ),
        keep=("template", "target_type", "target_id", "status", "last_error"),
    ),
    Declaration(
        "notifications.Notification",
        Category.NOTIFICATIONS,
        remove=("title", "url", "dedupe_key"),
        keep=("kind", "target_type", "target_id"),
    ),
    Declaration("notifications.NotificationPreference", Category.NOTIFICATIONS, keep=("delivery",)),
    Declaration(
        # the queue of alerts fanned out after commit: once aged out, a row has done its work
        "notifications.DeferredNotice",
        Category.NOTIFICATIONS,
        remove=("title", "url", "email_context", "dedupe_key"),
        keep=("recipient_ids", "kind", "target_type", "target_id", "email_template"),
        delete_rows=True,
    ),
    # --- billing: financial records are kept 7 years; their personal fields are not ---
    Declaration(
        "billing.StripeCustomer",
        Category.BILLING_RECORDS,
        keep=("stripe_customer_id", "termination_reason"),
    ),
    Declaration(
        "billing.Subscription",
        Category.BILLING_RECORDS,
        keep=("stripe_subscription_id", "stripe_price_id", "status"),
    ),
    Declaration(
        "billing.PurchaseOrder",
        Category.BILLING_RECORDS,
        keep=("number", "currency", "document", "document_name"),  # a financial record
    ),
    Declaration(
        "billing.Invoice",
        Category.BILLING_RECORDS,
        keep=(
            "stripe_invoice_id",
            "number",
            "status",
            "currency",
            "hosted_invoice_url",
            "invoice_pdf",
            "stripe_subscription_id",
            "po_number",
            "paid_out_of_band_method",
        ),
    ),
    Declaration(
        "billing.InvoiceLine",
        Category.BILLING_RECORDS,
        keep=("stripe_line_id", "description", "currency"),
    ),
    Declaration(
        "billing.BillingContact",
        Category.BILLING_RECORDS,
        remove=("name", "email", "address"),
        keep=("tax_id",),  # the organization's tax id, on its invoices
    ),
    Declaration(
        "billing.StripeEvent",
        Category.BILLING_RECORDS,
        # a financial record: kept; its payload (Stripe's copy of the customer) is encrypted
        # and becomes unreadable with the organization's key
        keep=("event_id", "type", "object_id", "payload", "error"),
    ),
    # --- SIS sources (sources engineer): imported SIS rows are personal through and through ---
    Declaration(
        "sources.DataSource",
        Category.ACCOUNT_RECORDS,
        remove=("client_secret",),
        keep=("kind", "name", "base_url", "token_url", "client_id", "scopes"),
    ),
    Declaration(
        "sources.SourceImport",
        Category.SIS_RECORDS,
        # counts per file and errors naming files, lines and fields: no personal values
        keep=("file_name", "sha256", "oneroster_version", "status", "counts", "errors"),
    ),
    Declaration(
        "sources.SisRecord",
        Category.SIS_RECORDS,
        remove=("data", "sourced_id_index", "person_index"),
        keep=("kind",),
        delete_rows=True,
    ),
    Declaration(
        "sources.SisLookupKey",
        Category.SIS_RECORDS,
        remove=("value_index",),
        keep=("kind",),
        delete_rows=True,
    ),
    Declaration(
        "sources.StudentLink",
        Category.PRIVACY_REQUESTS,
        remove=("summary", "sourced_id", "sourced_id_index", "sis_deletion_note"),
        keep=("guardianship",),
    ),
    # --- retention's own rows ---
    Declaration(
        "retention.LegalHold",
        Category.ACCOUNT_RECORDS,
        remove=("reason",),
        keep=("scope", "category"),
    ),
    Declaration(
        "retention.RetentionRule", Category.ACCOUNT_RECORDS, keep=("category",), engine_skips=True
    ),
    Declaration(
        "retention.RetentionRun",
        Category.ACCOUNT_RECORDS,
        keep=("kind", "status", "rule", "progress", "log", "log_sha256"),
        engine_skips=True,
    ),
    Declaration(
        "retention.AgedRecord", Category.ACCOUNT_RECORDS, keep=("model",), engine_skips=True
    ),  # ids of rows the age-based rules did (retention.aging): no personal data
    Declaration(
        "retention.DeidentificationCertificate",
        Category.ACCOUNT_RECORDS,
        keep=("document", "document_sha256", "key_id", "signature"),  # no personal data
        engine_skips=True,
    ),
    # destroyed by k12cloud.encryption.keys.organization_keys_destroy, the engine's last step
    Declaration(
        "k12cloud.OrganizationDataKey",
        Category.ACCOUNT_RECORDS,
        keep=("purpose", "wrapped_key", "master_key_id"),
        engine_skips=True,
    ),
    # --- vendors (vendors/): the register is the organization's; tasks carry a student's
    # identifiers and a responder's name, and files their data ---
    Declaration(
        "vendors.Vendor",
        Category.ACCOUNT_RECORDS,
        remove=("contact_emails",),
        keep=("name", "services", "data_categories"),
    ),
    Declaration("vendors.VendorPolicy", Category.ACCOUNT_RECORDS),
    Declaration(
        "vendors.VendorTask",
        Category.PRIVACY_REQUESTS,
        remove=(
            "identifiers",
            "instructions",
            "answer_note",
            "responder_name",
            "responder_email",
            "skip_reason",
            "closed_open_reason",
        ),
        keep=(
            "reference",
            "kind",
            "status",
            "answer_kind",
            "delivery",
            "receipt_reference",
            "link_token_hash",
            "code_hash",
        ),
    ),
    Declaration(
        "vendors.VendorTaskReceipt",
        Category.PRIVACY_REQUESTS,
        remove=("identifiers", "instructions", "answer_note", "responder_name", "responder_email"),
        keep=(
            "reference",
            "kind",
            "status",
            "answer_kind",
            "from_organization_name",
            "from_task_reference",
        ),
    ),
    Declaration(
        "vendors.VendorFile",
        Category.UPLOADED_FILES,
        remove=("name", "content"),
        keep=("purpose", "content_type", "sha256"),
    ),
    # --- exports (exports/) ---
    # The export's row holds nothing personal (statuses, counts, a hash, a storage name); its
    # file is sealed under the organization's data key, so destroying the key at
    # de-identification makes it unreadable, and the sweep deletes it when its link expires.
    Declaration(
        "exports.OrganizationExport",
        Category.ACCOUNT_RECORDS,
        keep=("status", "via", "storage_name", "sha256", "error"),
        engine_skips=True,
    ),
    # --- end of exports ---
    # --- trust center (trust/): the organization's acceptance of k-12.cloud's DPA is a
    # contractual record (which version, its hash); the acceptor's address is personal ---
    Declaration(
        "trust.DpaAcceptance",
        Category.ACCOUNT_RECORDS,
        remove=("ip_address",),
        keep=("version_hash",),
    ),
    Declaration("trust.DocumentObjection", Category.ACCOUNT_RECORDS, remove=("text",)),
    Declaration("trust.BannerDismissal", Category.ACCOUNT_RECORDS, keep=("key",)),
    # --- incidents (incidents/): the register's facts and who was told are removed; the
    # structure (references, statuses, legs, due and met times) stays for the statistics and
    # the records regulators ask for ---
    Declaration(
        "incidents.Incident",
        Category.PRIVACY_REQUESTS,
        remove=("title", "description", "systems", "not_breach_reasoning"),
        keep=(
            "reference",
            "status",
            "residents",  # counts per state or province
            "source_organization_name",
            "source_reference",
            "source_leg_citation",
        ),
    ),
    Declaration(
        "incidents.IncidentLeg",
        Category.PRIVACY_REQUESTS,
        keep=(
            "regime",
            "leg",
            "part",
            "recipient",
            "recipient_label",
            "start_event",
            "status",
            "period",
            "wording",
            "reason",
            "citation",
            "confidence",
            "unit",
            "met_how",
        ),
    ),
    Declaration(
        "incidents.LawEnforcementDelay",
        Category.PRIVACY_REQUESTS,
        remove=("agency", "requested_by"),
    ),
    Declaration(
        "incidents.IncidentCascade",
        Category.PRIVACY_REQUESTS,
        remove=("acknowledged_by_name",),
        keep=("district_name", "district_reference"),
    ),
    Declaration(
        "incidents.RecipientList",
        Category.UPLOADED_FILES,
        remove=("file_name",),
        keep=("kind",),
    ),
    # families' and staff's names and addresses (uploaded CSV lists)
    Declaration(
        "incidents.Recipient",
        Category.UPLOADED_FILES,
        remove=("name", "email"),
        keep=("language",),
    ),
    Declaration(
        "incidents.Notice",
        Category.PRIVACY_REQUESTS,
        remove=("body_en", "body_es"),
        keep=("subject_en", "subject_es", "status"),
    ),
    Declaration("incidents.NoticeDelivery", Category.NOTIFICATIONS, keep=("language",)),
    Declaration(
        "incidents.RegulatorSubmission",
        Category.PRIVACY_REQUESTS,
        remove=("confirmation",),
    ),
)

# Billing declares its financial records (kept 7 years from their own date, whatever the
# organization's status): the engine leaves their rows alone. Their encrypted fields still
# become unreadable when the organization's key is destroyed (docs/retention.md).
FINANCIAL_RECORD_MODELS: list[Any] | None
try:
    from billing.retention import FINANCIAL_RECORD_MODELS
except ImportError:  # billing.retention not there: every billing row counts as financial
    FINANCIAL_RECORD_MODELS = None


def financial_record_labels() -> frozenset[str]:
    if FINANCIAL_RECORD_MODELS is None:
        return frozenset(d.model for d in DECLARATIONS if d.model.startswith("billing."))
    return frozenset(entry.model._meta.label for entry in FINANCIAL_RECORD_MODELS)


def declaration_for(label: str) -> Declaration | None:
    return next((d for d in DECLARATIONS if d.model.lower() == label.lower()), None)
