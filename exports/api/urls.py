"""`/api/v1/orgs/<org_slug>/exports/...` (included from accounts/api/urls.py, so the names
live in the `accounts_api` namespace)."""

from django.urls import URLPattern, path

from exports.api import views

urlpatterns: list[URLPattern] = [
    path("", views.ExportViewSet.as_view({"get": "list", "post": "create"}), name="export_list"),
    path(
        "<int:export_id>/",
        views.ExportViewSet.as_view({"get": "retrieve"}),
        name="export_detail",
    ),
    path(
        "<int:export_id>/download/",
        views.ExportViewSet.as_view({"post": "download"}),
        name="export_download",
    ),
]
