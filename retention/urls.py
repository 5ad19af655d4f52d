"""The organization admins' retention page (`/o/<org_slug>/retention/`), included from
accounts/urls.py, so the name lives in the `accounts` namespace."""

from django.urls import URLPattern, path

from retention import views

urlpatterns: list[URLPattern] = [
    path("", views.RetentionView.as_view(), name="retention"),
]
