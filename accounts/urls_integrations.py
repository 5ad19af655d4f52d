"""API keys and single sign-on connections (organization pages)."""

from django.urls import URLPattern, path

from accounts import views_integrations as views

urlpatterns: list[URLPattern] = [
    path("settings/api-keys/", views.ApiKeyListView.as_view(), name="api_key_list"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        views.ApiKeyRevokeView.as_view(),
        name="api_key_revoke",
    ),
    path("settings/sso/", views.SsoConnectionView.as_view(), name="sso_connection"),
]
