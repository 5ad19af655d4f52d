"""Ops staff's view of billing (runs in the all-tenants admin context, k12cloud.admin_site).

Invoices, subscriptions and events are Stripe's records: read-only here, amounts shown as
money. Ops staff mark an invoice paid by check or bank transfer, link an organization to its
Stripe customer, and confirm a termination for non-payment that the daily dunning check
proposed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Organization
from billing import services
from billing.invoice_pdf import money_text
from billing.models import Invoice, InvoiceLine, Plan, StripeCustomer, StripeEvent, Subscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _money(cents: int | None, currency: str) -> str:
    return money_text(cents, currency)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "interval", "price", "stripe_price_id", "active")
    list_filter = ("interval", "active")

    @admin.display(description="price", ordering="amount")
    def price(self, plan: Plan) -> str:
        return _money(plan.amount, plan.currency)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ("description", "quantity", "line_amount", "period_start", "period_end")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="amount")
    def line_amount(self, line: InvoiceLine) -> str:
        return _money(line.amount, line.currency)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    list_display = (
        "stripe_customer_id",
        "organization",
        "ops_alerted_at",
        "termination_proposed_at",
        "termination_reason",
    )
    list_filter = ("termination_proposed_at",)
    list_select_related = ("organization",)
    search_fields = ("stripe_customer_id", "organization__slug", "organization__name")
    readonly_fields = ("ops_alerted_at", "termination_proposed_at", "termination_reason")
    fields = ("organization", "stripe_customer_id", *readonly_fields)
    actions = ("confirm_termination",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # the organization is fixed once linked: its rows and RLS policy hang on it
        return (*self.readonly_fields, "organization") if obj else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # `organization` is not editable on tenant-owned models; ops choose it when linking
        if obj is None:
            from django import forms

            class LinkForm(forms.ModelForm):
                organization = forms.ModelChoiceField(queryset=Organization.objects.all())

                class Meta:
                    model = StripeCustomer
                    fields = ("stripe_customer_id",)

                def save(self, commit: bool = True) -> Any:
                    self.instance.organization = self.cleaned_data["organization"]
                    return super().save(commit)

            kwargs["form"] = LinkForm
            kwargs["fields"] = ("stripe_customer_id",)
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("organization", "stripe_customer_id")
        return self.fields

    @admin.action(description="Confirm termination for non-payment (starts the retention clock)")
    def confirm_termination(self, request: HttpRequest, queryset: QuerySet[StripeCustomer]) -> None:
        done = 0
        for customer in queryset.select_related("organization").order_by("pk"):
            terminated = services.organization_terminate_for_nonpayment(
                organization=customer.organization,
                user=request.user,  # type: ignore[arg-type]
            )
            done += terminated is not None
        skipped = queryset.count() - done
        self.message_user(request, f"Terminated {done} organization(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: no termination proposed, or already terminated.",
                messages.WARNING,
            )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "organization",
        "status",
        "total_amount",
        "remaining_amount",
        "due_date",
        "overdue",
        "po_number",
        "paid_out_of_band_method",
    )
    list_filter = ("status", "paid_out_of_band_method")
    list_select_related = ("organization",)
    search_fields = ("number", "stripe_invoice_id", "po_number", "organization__slug")
    # amounts as money, never as a count of cents (issue #16)
    fields = (
        "organization",
        "number",
        "stripe_invoice_id",
        "status",
        "overdue",
        "subtotal_amount",
        "tax_amount",
        "total_amount",
        "paid_amount",
        "remaining_amount",
        "created",
        "due_date",
        "period_start",
        "period_end",
        "po_number",
        "paid_at",
        "payment_failed_at",
        "paid_out_of_band_at",
        "paid_out_of_band_method",
        "hosted_invoice_url",
        "invoice_pdf",
        "stripe_subscription_id",
    )
    readonly_fields = fields
    inlines = (InvoiceLineInline,)
    actions = ("mark_paid_by_check", "mark_paid_by_bank_transfer")

    @admin.display(description="subtotal")
    def subtotal_amount(self, invoice: Invoice) -> str:
        return _money(invoice.subtotal, invoice.currency)

    @admin.display(description="tax")
    def tax_amount(self, invoice: Invoice) -> str:
        return _money(invoice.tax, invoice.currency)

    @admin.display(description="total", ordering="total")
    def total_amount(self, invoice: Invoice) -> str:
        return _money(invoice.total, invoice.currency)

    @admin.display(description="paid")
    def paid_amount(self, invoice: Invoice) -> str:
        return _money(invoice.amount_paid, invoice.currency)

    @admin.display(description="remaining", ordering="amount_remaining")
    def remaining_amount(self, invoice: Invoice) -> str:
        return _money(invoice.amount_remaining, invoice.currency)

    @admin.display(description="overdue")
    def overdue(self, invoice: Invoice) -> str:
        days = invoice.overdue_days
        return f"Overdue by {days} day{'s' if days != 1 else ''}" if days else "-"

    def _mark_paid(self, request: HttpRequest, queryset: QuerySet[Invoice], method: str) -> None:
        done = 0
        for invoice in queryset.select_related("organization").order_by("pk"):
            marked = services.invoice_mark_paid(
                organization=invoice.organization,
                user=request.user,  # type: ignore[arg-type]
                invoice_id=invoice.pk,
                method=method,
            )
            done += marked is not None
        self.message_user(request, f"Marked {done} invoice(s) paid.", messages.SUCCESS)
        if done < queryset.count():
            self.message_user(
                request, "Invoices that were not due were left alone.", messages.WARNING
            )

    @admin.action(description="Mark paid by check")
    def mark_paid_by_check(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._mark_paid(request, queryset, Invoice.PaidOutOfBand.CHECK)

    @admin.action(description="Mark paid by bank transfer")
    def mark_paid_by_bank_transfer(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._mark_paid(request, queryset, Invoice.PaidOutOfBand.BANK_TRANSFER)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_subscription_id",
        "organization",
        "status",
        "plan",
        "current_period_end",
        "cancel_at_period_end",
    )
    list_filter = ("status", "cancel_at_period_end")
    list_select_related = ("organization", "plan")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "type",
        "organization",
        "created",
        "processed_at",
        "attempts",
        "error",
    )
    list_filter = ("type", "livemode")
    list_select_related = ("organization",)
    search_fields = ("event_id", "object_id")
    exclude = ("payload",)  # encrypted raw body: customer names and addresses
