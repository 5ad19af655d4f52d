"""Public pages for requesters, under /privacy/ (no sign-in): privacy_requests.intake.views."""

from django.urls import URLPattern, path

from privacy_requests.intake import views

app_name = "privacy_intake"

urlpatterns: list[URLPattern] = [
    path("<slug:org_slug>/", views.intake_form_view, name="form"),
    path("<slug:org_slug>/submitted/", views.intake_submitted_view, name="submitted"),
    path(
        "<slug:org_slug>/confirm/<str:token>/",
        views.confirm_email_view,
        name="confirm_email",
    ),
]
