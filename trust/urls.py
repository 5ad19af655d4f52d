"""Organization pages of the trust center (`/o/<org_slug>/trust/`), included from
accounts/urls.py, so the names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from trust import views

urlpatterns: list[URLPattern] = [
    path("dpa/", views.DpaView.as_view(), name="trust_dpa"),
    path("dpa/accept/", views.DpaAcceptView.as_view(), name="trust_dpa_accept"),
    path(
        "dpa/acceptances/<int:acceptance_id>/receipt/",
        views.ReceiptView.as_view(),
        name="trust_dpa_receipt",
    ),
    path("objections/", views.ObjectionView.as_view(), name="trust_objection"),
    path("banners/dismiss/", views.BannerDismissView.as_view(), name="trust_banner_dismiss"),
]
