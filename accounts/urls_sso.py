"""Single sign-on entry points (public)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
