"""The billing portal, included under /o/<org_slug>/billing/ (accounts.urls)."""

from django.urls import URLPattern, path

from billing import views

urlpatterns: list[URLPattern] = [
    path("", views.BillingOverviewView.as_view(), name="billing_overview"),
    path(
        "invoices/<int:invoice_id>/pdf/", views.InvoicePdfView.as_view(), name="billing_invoice_pdf"
    ),
    path(
        "invoices/<int:invoice_id>/stripe-pdf/",
        views.InvoiceStripePdfView.as_view(),
        name="billing_invoice_stripe_pdf",
    ),
    path(
        "invoices/<int:invoice_id>/purchase-order/",
        views.InvoiceAttachPurchaseOrderView.as_view(),
        name="billing_invoice_attach_po",
    ),
    path("payment-methods/", views.PaymentMethodsView.as_view(), name="billing_payment_methods"),
    path("purchase-orders/", views.PurchaseOrderListView.as_view(), name="billing_purchase_orders"),
    path(
        "purchase-orders/<int:purchase_order_id>/document/",
        views.PurchaseOrderDocumentView.as_view(),
        name="billing_purchase_order_document",
    ),
    path("contacts/", views.BillingContactListView.as_view(), name="billing_contacts"),
    path(
        "contacts/<int:contact_id>/",
        views.BillingContactEditView.as_view(),
        name="billing_contact_edit",
    ),
    path(
        "contacts/<int:contact_id>/remove/",
        views.BillingContactRemoveView.as_view(),
        name="billing_contact_remove",
    ),
]
