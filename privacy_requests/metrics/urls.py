"""Organization pages of privacy metrics (`/o/<org_slug>/metrics/...`), included from
accounts/urls.py, so the names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from privacy_requests.metrics import views

urlpatterns: list[URLPattern] = [
    path("", views.PrivacyMetricsView.as_view(), name="privacy_metrics"),
    path("export.csv", views.PrivacyMetricsExportView.as_view(), name="privacy_metrics_export"),
]
