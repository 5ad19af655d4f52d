"""Billing records: the Stripe customer, subscription, invoices, purchase orders, contacts.

Stripe is the source of truth for subscriptions and invoices; these rows are a local copy kept
current by webhooks (billing.webhooks). Card data never touches these tables: payment happens
on Stripe-hosted pages (hosted invoice page, customer portal).

Every table except the plan catalogue is tenant-owned, with row-level security. Financial
records are kept 7 years (billing.retention).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from k12cloud.encryption.fields import EncryptedEmailField, EncryptedTextField
from k12cloud.models import TenantOwnedModel


class Plan(models.Model):
    """A Stripe Price that k-12.cloud sells: the platform's catalogue, not a tenant's data."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Annual")

    stripe_price_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=200)
    interval = models.CharField(max_length=8, choices=Interval.choices)
    amount = models.PositiveIntegerField(help_text=_("In the currency's smallest unit (cents)"))
    currency = models.CharField(max_length=3, default="usd")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "interval"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_interval_display()})"


class StripeCustomer(TenantOwnedModel):
    """The organization's customer in Stripe, and its dunning state."""

    stripe_customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # dunning (billing.services): alerted ops once per overdue episode; proposed for termination
    ops_alerted_at = models.DateTimeField(null=True, blank=True)
    termination_proposed_at = models.DateTimeField(null=True, blank=True)
    termination_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="billing_one_customer_per_org")
        ]

    def __str__(self) -> str:
        return self.stripe_customer_id


class Subscription(TenantOwnedModel):
    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Cancelled")
        UNPAID = "unpaid", _("Unpaid")
        PAUSED = "paused", _("Paused")

    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, db_index=False, related_name="+"
    )
    stripe_price_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(help_text=_("When Stripe created the subscription"))
    # the `created` time of the newest Stripe event applied to this row: older ones are ignored
    stripe_updated = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "-created"], name="billing_sub_org")]

    def __str__(self) -> str:
        return self.stripe_subscription_id


class PurchaseOrder(TenantOwnedModel):
    """A purchase order the district issued to pay k-12.cloud's invoices."""

    # a PDF, read into memory and stored encrypted under the organization's data key
    MAX_DOCUMENT_BYTES = 5 * 1024 * 1024

    number = models.CharField(_("PO number"), max_length=64)
    amount = models.PositiveIntegerField(
        _("amount (cents)"), null=True, blank=True, help_text=_("In cents; optional")
    )
    currency = models.CharField(max_length=3, default="usd")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    document = EncryptedTextField(blank=True, null=True, help_text="base64 of the PDF")
    document_name = models.CharField(max_length=200, blank=True)
    document_size = models.PositiveIntegerField(null=True, blank=True)
    document_uploaded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="billing_po_number")
        ]

    def __str__(self) -> str:
        return self.number


class Invoice(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Due")
        PAID = "paid", _("Paid")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
        VOID = "void", _("Void")

    class PaidOutOfBand(models.TextChoices):
        CHECK = "check", _("Check")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    # how far along an invoice is; at the same event time a lower rank never overwrites a higher
    STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}

    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    currency = models.CharField(max_length=3)
    subtotal = models.IntegerField(default=0)
    tax = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    amount_due = models.IntegerField(default=0)
    amount_paid = models.IntegerField(default=0)
    amount_remaining = models.IntegerField(default=0)
    created = models.DateTimeField(help_text=_("When Stripe created the invoice"))
    due_date = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, null=True, blank=True, db_index=False
    )
    po_number = models.CharField(_("PO number"), max_length=64, blank=True)
    paid_out_of_band_at = models.DateTimeField(null=True, blank=True)
    paid_out_of_band_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    paid_out_of_band_method = models.CharField(
        max_length=16, choices=PaidOutOfBand.choices, blank=True
    )
    stripe_updated = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created"], name="billing_invoice_org"),
            models.Index(fields=["organization", "status", "due_date"], name="billing_inv_due"),
        ]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id

    @property
    def is_payable(self) -> bool:
        return self.status == self.Status.OPEN and bool(self.hosted_invoice_url)

    def days_overdue(self, now: datetime | None = None) -> int:
        """Whole days a due invoice is past its due date; 0 when it is not overdue."""
        if self.status != self.Status.OPEN or self.due_date is None:
            return 0
        late = (now or timezone.now()) - self.due_date
        return late.days if late.total_seconds() > 0 else 0

    @property
    def overdue_days(self) -> int:
        """days_overdue() now, for templates; "Overdue" shows from the first whole day."""
        return self.days_overdue()


class InvoiceLine(TenantOwnedModel):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    stripe_line_id = models.CharField(max_length=255)
    description = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    amount = models.IntegerField(default=0)
    currency = models.CharField(max_length=3)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "invoice"], name="billing_line_invoice")]
        ordering = ["pk"]


class BillingContact(TenantOwnedModel):
    """Who receives invoices and payment reminders; name and email encrypted."""

    name = EncryptedTextField(_("name"))
    email = EncryptedEmailField(_("email address"))
    address = EncryptedTextField(_("billing address"), blank=True, default="")
    tax_id = models.CharField(
        _("tax ID"), max_length=64, blank=True, help_text=_("e.g. a US EIN or Canadian GST/HST")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="billing_contact")]
        ordering = ["created_at", "pk"]


class StripeEvent(TenantOwnedModel):
    """A webhook event as received: stored before it is processed, processed once.

    The raw body is kept encrypted (Stripe objects carry customer names and addresses). The
    row belongs to the organization of the event's customer, or to the platform organization
    when no customer matches.
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    object_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(help_text=_("When Stripe created the event"))
    payload = EncryptedTextField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "processed_at"], name="billing_event_pending")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
