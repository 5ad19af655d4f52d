"""The audit log's organization pages, mounted under /o/<org_slug>/audit/ (accounts: namespace)."""

from django.urls import URLPattern, path

from audit import views

urlpatterns: list[URLPattern] = [
    path("", views.AuditEventListView.as_view(), name="audit_event_list"),
    path("export/", views.AuditExportView.as_view(), name="audit_export"),
]
