"""Member management and invitations (organization pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
