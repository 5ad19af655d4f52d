"""SIS source pages (`/o/<org_slug>/sources/...`), included from accounts/urls.py, so the
names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from sources import views

urlpatterns: list[URLPattern] = [
    path("", views.SourceListView.as_view(), name="sources"),
    path("<int:source_id>/", views.SourceDetailView.as_view(), name="source_detail"),
    path(
        "imports/<int:import_id>/",
        views.SourceImportDetailView.as_view(),
        name="source_import_detail",
    ),
]
