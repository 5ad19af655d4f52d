"""A user's own second factors: enrolment, verification, recovery codes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
