"""`/api/v1/orgs/<org_slug>/incidents/...` (included from accounts/api/urls.py, so the names live
in the `accounts_api` namespace)."""

from django.urls import URLPattern, path

from incidents.api import views

urlpatterns: list[URLPattern] = [
    path("", views.IncidentViewSet.as_view({"get": "list"}), name="incident_list"),
    path("new/", views.IncidentViewSet.as_view({"post": "create"}), name="incident_create"),
    path(
        "<int:incident_id>/",
        views.IncidentViewSet.as_view({"get": "retrieve"}),
        name="incident_detail",
    ),
    path(
        "<int:incident_id>/status/",
        views.IncidentViewSet.as_view({"post": "set_status"}),
        name="incident_status",
    ),
    path(
        "<int:incident_id>/regimes/",
        views.IncidentViewSet.as_view({"post": "confirm_regimes"}),
        name="incident_regimes",
    ),
    path(
        "<int:incident_id>/districts/",
        views.IncidentViewSet.as_view({"get": "cascades"}),
        name="incident_districts",
    ),
    path(
        "<int:incident_id>/notify/",
        views.IncidentViewSet.as_view({"post": "notify_districts"}),
        name="incident_notify",
    ),
    path(
        "<int:incident_id>/acknowledge/",
        views.IncidentViewSet.as_view({"post": "acknowledge"}),
        name="incident_acknowledge",
    ),
]
