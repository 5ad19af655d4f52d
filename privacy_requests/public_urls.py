"""Public pages for requesters, under /privacy/ (no sign-in): privacy_requests.intake.views."""

from django.urls import URLPattern, path

from privacy_requests.fulfilment import views as fulfilment_views  # fulfilment engineer
from privacy_requests.intake import views
from privacy_requests.portal import views as portal_views

app_name = "privacy_intake"

urlpatterns: list[URLPattern] = [
    path("<slug:org_slug>/", views.intake_form_view, name="form"),
    path("<slug:org_slug>/submitted/", views.intake_submitted_view, name="submitted"),
    path(
        "<slug:org_slug>/confirm/<str:token>/",
        views.confirm_email_view,
        name="confirm_email",
    ),
    # the requester portal (privacy_requests.portal; docs/privacy-portal.md)
    path("<slug:org_slug>/status/", portal_views.portal_link_view, name="portal_link"),
    path("<slug:org_slug>/portal/", portal_views.portal_view, name="portal"),
    path("<slug:org_slug>/portal/reply/", portal_views.portal_reply_view, name="portal_reply"),
    path(
        "<slug:org_slug>/portal/sign-out/",
        portal_views.portal_sign_out_view,
        name="portal_sign_out",
    ),
    # --- fulfilment (fulfilment engineer) ---
    path(
        "<slug:org_slug>/portal/download/",
        fulfilment_views.portal_download_view,
        name="portal_download",
    ),
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    # --- end of routing ---
    path("<slug:org_slug>/portal/<str:token>/", portal_views.portal_open_view, name="portal_open"),
]
