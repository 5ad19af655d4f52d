from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("members/", views.MemberListView.as_view(), name="member_list"),
    path("members/<int:membership_id>/", views.MemberDetailView.as_view(), name="member_detail"),
    path("settings/", views.SecuritySettingsView.as_view(), name="security_settings"),
    # each area keeps its organization pages in its own module
    path("", include("accounts.urls_members")),
    path("", include("accounts.urls_security")),
    path("", include("accounts.urls_mfa_policy")),
    path("", include("accounts.urls_integrations")),
    path("audit/", include("audit.urls")),
    path("requests/", include("privacy_requests.urls")),
    # --- routing (routing engineer) ---
    path("settings/deadlines/", include("privacy_requests.rules.urls")),
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    path("notifications/", include("k12cloud.notifications.urls")),
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    path("metrics/", include("privacy_requests.metrics.urls")),
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    path("billing/", include("billing.urls")),
    # --- end of billing ---
    # --- retention (retention engineer) ---
    path("retention/", include("retention.urls")),
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    path("sources/", include("sources.urls")),
    path("requests/<int:request_id>/sis/", include("sources.request_urls")),
    # --- end of SIS sources ---
    # --- vendors (vendors/) ---
    path("vendors/", include("vendors.urls")),
    # --- end of vendors ---
    # --- exports (exports/) ---
    path("exports/", include("exports.urls")),
    # --- end of exports ---
    # --- trust center (trust/) ---
    path("trust/", include("trust.urls")),
    # --- end of trust center ---
    # --- incidents (incidents/) ---
    path("incidents/", include("incidents.urls")),
    # --- end of incidents ---
]
