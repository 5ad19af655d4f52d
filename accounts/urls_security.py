"""IP allowlist, session policy and lockout unlock (organization pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
