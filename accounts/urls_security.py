"""IP allowlist, session policy and lockout unlock (organization pages)."""

from django.urls import URLPattern, path

from accounts.security import views

urlpatterns: list[URLPattern] = [
    path("settings/network/", views.IpAllowlistView.as_view(), name="ip_allowlist"),
    path("settings/sessions/", views.SessionPolicyView.as_view(), name="session_policy"),
    path(
        "members/<int:membership_id>/unlock/",
        views.MemberUnlockView.as_view(),
        name="member_unlock",
    ),
]
