"""A user's own sessions (`/accounts/sessions/`)."""

from django.urls import URLPattern, path

from accounts.security import views

urlpatterns: list[URLPattern] = [
    path("", views.SessionListView.as_view(), name="session_list"),
    path("sign-out-others/", views.SessionRevokeOthersView.as_view(), name="session_revoke_others"),
    path("sign-out-all/", views.SessionRevokeAllView.as_view(), name="session_revoke_all"),
]
