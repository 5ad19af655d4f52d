"""Organization pages of the full export (`/o/<org_slug>/exports/`), included from
accounts/urls.py, so the names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from exports import views

urlpatterns: list[URLPattern] = [
    path("", views.ExportListView.as_view(), name="export_list"),
    path("<int:export_id>/progress/", views.ExportProgressView.as_view(), name="export_progress"),
    path("<int:export_id>/download/", views.ExportDownloadView.as_view(), name="export_download"),
]
