"""A request's SIS page (`/o/<org_slug>/requests/<request_id>/sis/...`), included from
accounts/urls.py (names in the `accounts` namespace)."""

from django.urls import URLPattern, path

from sources import views

urlpatterns: list[URLPattern] = [
    path("", views.RequestSisView.as_view(), name="request_sis"),
    path("confirm/", views.RequestSisConfirmView.as_view(), name="request_sis_confirm"),
    path(
        "links/<int:link_id>/deletion/",
        views.RequestSisDeletionView.as_view(),
        name="request_sis_deletion",
    ),
]
