"""The billing portal at /o/<slug>/billing/ for organization admins and billing contacts.

Card payment happens only on Stripe's pages: "Pay now" links to the invoice's Stripe-hosted
page and "Manage payment methods" redirects to Stripe's customer portal. No card data is shown
or sent here.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from accounts.models import User
from accounts.permissions import Permission
from billing import selectors, services
from billing.forms import (
    AttachPurchaseOrderForm,
    BillingContactForm,
    PurchaseOrderDocumentForm,
    PurchaseOrderForm,
)
from billing.invoice_pdf import invoice_pdf
from billing.models import BillingContact
from billing.stripe_api import STRIPE_FORM_TARGETS, StripeUnavailable
from k12cloud.portal import OrganizationView


class BillingPage(OrganizationView, TemplateResponseMixin, ContextMixin):
    # roles without billing rights are told nothing about billing (issue #8): 404, not 403
    refused_as_not_found = True

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})

    @property
    def user(self) -> User:
        return self.request.user  # type: ignore[return-value]  # OrganizationView: signed in


class BillingOverviewView(BillingPage):
    """Plan, upcoming invoice, invoice history with PDF, pay now, payment methods."""

    permission = Permission.BILLING_VIEW
    template_name = "billing/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        subscription = selectors.current_subscription(organization=self.organization)
        purchase_orders = list(selectors.purchase_order_list(organization=self.organization))
        context.update(
            subscription=subscription,
            upcoming=selectors.upcoming_invoice(subscription),
            invoices=list(selectors.invoice_list(organization=self.organization)),
            purchase_orders=purchase_orders,
            attach_form=kwargs.get("attach_form")
            or AttachPurchaseOrderForm(purchase_orders=purchase_orders),
            has_customer=selectors.stripe_customer(organization=self.organization) is not None,
        )
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = self.render_to_response(self.get_context_data())
        # "Manage payment methods" posts here and is redirected to Stripe's customer portal
        response._csp_update = {"form-action": STRIPE_FORM_TARGETS}  # type: ignore[attr-defined]
        return response


class InvoicePdfView(BillingPage):
    """Download: the invoice as a PDF the portal renders from its rows (Stripe not needed)."""

    permission = Permission.BILLING_VIEW

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invoice = selectors.invoice_get(
            organization=self.organization, invoice_id=kwargs["invoice_id"], with_lines=True
        )
        if invoice is None:
            raise Http404("No such invoice.")
        content = invoice_pdf(
            organization=self.organization,
            invoice=invoice,
            contacts=selectors.billing_contact_list(organization=self.organization),
        )
        name = slugify(invoice.number) or f"{invoice.pk}"
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="invoice-{name}.pdf"'
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class InvoiceStripePdfView(BillingPage):
    """Download: a redirect to the PDF Stripe renders for the invoice, when it has one."""

    permission = Permission.BILLING_VIEW

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invoice = selectors.invoice_get(
            organization=self.organization, invoice_id=kwargs["invoice_id"]
        )
        if invoice is None or not invoice.invoice_pdf.startswith("https://"):
            raise Http404("No such invoice.")
        return HttpResponseRedirect(invoice.invoice_pdf)


class InvoiceAttachPurchaseOrderView(BillingOverviewView):
    """POST: the invoice carries a recorded PO's number."""

    permission = Permission.BILLING_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invoice = selectors.invoice_get(
            organization=self.organization, invoice_id=kwargs["invoice_id"]
        )
        if invoice is None:
            raise Http404("No such invoice.")
        purchase_orders = list(selectors.purchase_order_list(organization=self.organization))
        form = AttachPurchaseOrderForm(request.POST, purchase_orders=purchase_orders)
        if not form.is_valid():
            context = self.get_context_data(attach_form=form, attach_invoice_id=invoice.pk)
            return self.render_to_response(context, status=400)
        services.invoice_purchase_order_attach(
            organization=self.organization,
            user=self.user,
            invoice_id=invoice.pk,
            purchase_order_id=form.cleaned_data["purchase_order"],
        )
        messages.success(
            request,
            _("Invoice %(invoice)s now carries your PO number.") % {"invoice": invoice.number},
        )
        return HttpResponseRedirect(self.url("billing_overview"))


class PaymentMethodsView(BillingPage):
    """POST: a one-time link to Stripe's customer portal, and a redirect there."""

    permission = Permission.BILLING_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        back = request.build_absolute_uri(self.url("billing_overview"))
        try:
            url = services.customer_portal_url(organization=self.organization, return_url=back)
        except StripeUnavailable:
            messages.error(request, _("Stripe could not be reached. Please try again shortly."))
            return HttpResponseRedirect(back)
        if url is None:
            messages.error(
                request,
                _("Billing is not set up for this organization yet. Contact k-12.cloud support."),
            )
            return HttpResponseRedirect(back)
        return HttpResponseRedirect(url)


class PurchaseOrderListView(BillingPage):
    """The organization's purchase orders, and the form that records one."""

    permission = Permission.BILLING_MANAGE
    template_name = "billing/purchase_orders.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", PurchaseOrderForm())
        context["purchase_orders"] = list(
            selectors.purchase_order_list(organization=self.organization)
        )
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PurchaseOrderForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                purchase_order = services.purchase_order_record(
                    organization=self.organization,
                    user=self.user,
                    number=form.cleaned_data["number"],
                    amount=form.amount_cents(),
                    valid_from=form.cleaned_data["valid_from"],
                    valid_until=form.cleaned_data["valid_until"],
                    document_name=form.document_name(),
                    document=form.cleaned_data["document"],
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request, _("PO %(number)s is recorded.") % {"number": purchase_order.number}
                )
                return HttpResponseRedirect(self.url("billing_purchase_orders"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PurchaseOrderDocumentView(BillingPage):
    """GET downloads the PO's document; POST uploads (or replaces) it."""

    permission = Permission.BILLING_MANAGE
    template_name = "billing/purchase_order_document.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        purchase_order = selectors.purchase_order_get(
            organization=self.organization, purchase_order_id=kwargs["purchase_order_id"]
        )
        if purchase_order is None or not purchase_order.document:
            raise Http404("No such document.")
        response = HttpResponse(
            base64.b64decode(purchase_order.document), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="purchase-order-{purchase_order.pk}.pdf"'
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        purchase_order = selectors.purchase_order_get(
            organization=self.organization, purchase_order_id=kwargs["purchase_order_id"]
        )
        if purchase_order is None:
            raise Http404("No such purchase order.")
        form = PurchaseOrderDocumentForm(request.POST, request.FILES)
        if not form.is_valid():
            context = self.get_context_data(form=form, purchase_order=purchase_order)
            return self.render_to_response(context, status=400)
        services.purchase_order_upload(
            organization=self.organization,
            user=self.user,
            purchase_order_id=purchase_order.pk,
            name=form.document_name(),
            content=form.cleaned_data["document"],
        )
        messages.success(
            request,
            _("The document of PO %(number)s is uploaded.") % {"number": purchase_order.number},
        )
        return HttpResponseRedirect(self.url("billing_purchase_orders"))


class BillingContactListView(BillingPage):
    """Who receives invoices and payment reminders, and the form that adds one."""

    permission = Permission.BILLING_MANAGE
    template_name = "billing/contacts.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", BillingContactForm())
        context["contacts"] = list(selectors.billing_contact_list(organization=self.organization))
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = BillingContactForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.billing_contact_save(
            organization=self.organization,
            user=self.user,
            contact_id=None,
            values=form.cleaned_data,
        )
        messages.success(request, _("The billing contact is added."))
        return HttpResponseRedirect(self.url("billing_contacts"))


class BillingContactEditView(BillingPage):
    permission = Permission.BILLING_MANAGE
    template_name = "billing/contact_edit.html"

    def _contact(self) -> BillingContact:
        contact = selectors.billing_contact_get(
            organization=self.organization, contact_id=self.kwargs["contact_id"]
        )
        if contact is None:
            raise Http404("No such billing contact.")
        return contact

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self._contact()
        form = BillingContactForm(
            initial={f: getattr(contact, f) for f in ("name", "email", "address", "tax_id")}
        )
        return self.render_to_response(self.get_context_data(form=form, contact=contact))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self._contact()
        form = BillingContactForm(request.POST)
        if not form.is_valid():
            context = self.get_context_data(form=form, contact=contact)
            return self.render_to_response(context, status=400)
        services.billing_contact_save(
            organization=self.organization,
            user=self.user,
            contact_id=contact.pk,
            values=form.cleaned_data,
        )
        messages.success(request, _("The billing contact is saved."))
        return HttpResponseRedirect(self.url("billing_contacts"))


class BillingContactRemoveView(BillingPage):
    permission = Permission.BILLING_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        removed = services.billing_contact_remove(
            organization=self.organization, user=self.user, contact_id=kwargs["contact_id"]
        )
        if removed is None:
            raise Http404("No such billing contact.")
        messages.success(request, _("The billing contact is removed."))
        return HttpResponseRedirect(self.url("billing_contacts"))
