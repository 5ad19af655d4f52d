"""Single sign-on entry points (public)."""

from django.urls import URLPattern, path

from accounts.views_sso import SsoStartView

urlpatterns: list[URLPattern] = [
    path("", SsoStartView.as_view(), name="sso_start"),
]
