"""API keys and single sign-on connections (organization pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
