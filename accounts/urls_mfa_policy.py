"""The organization's MFA policy (organization pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
