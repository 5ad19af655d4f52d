from django.urls import include, path

from accounts.api import views

app_name = "accounts_api"

urlpatterns = [
    path("orgs/", views.MyOrganizationsView.as_view(), name="my_organizations"),
    path(
        "orgs/<slug:org_slug>/",
        views.OrganizationDetailViewSet.as_view({"get": "retrieve"}),
        name="organization_detail",
    ),
    path(
        "orgs/<slug:org_slug>/members/",
        views.MembershipViewSet.as_view({"get": "list"}),
        name="membership_list",
    ),
    path(
        "orgs/<slug:org_slug>/members/<int:membership_id>/",
        views.MembershipViewSet.as_view({"get": "retrieve"}),
        name="membership_detail",
    ),
    # --- privacy requests (API engineer) ---
    path("orgs/<slug:org_slug>/requests/", include("privacy_requests.api.urls")),
    # --- SIS sources (sources engineer) ---
    path("orgs/<slug:org_slug>/sources/", include("sources.api.urls")),
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    path("orgs/<slug:org_slug>/vendors/", include("vendors.api.urls")),
    # --- end of vendors ---
    # --- exports (exports/) ---
    path("orgs/<slug:org_slug>/exports/", include("exports.api.urls")),
    # --- end of exports ---
    # --- incidents (incidents/) ---
    path("orgs/<slug:org_slug>/incidents/", include("incidents.api.urls")),
    # --- end of incidents ---
]
