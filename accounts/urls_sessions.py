"""A user's own sessions, and the public pages of lockout and IP refusal."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
