"""`/api/v1/orgs/<org_slug>/vendors/...` (included from accounts/api/urls.py, so the names live
in the `accounts_api` namespace)."""

from django.urls import URLPattern, path

from vendors.api import views

urlpatterns: list[URLPattern] = [
    path(
        "",
        views.VendorViewSet.as_view({"get": "list", "post": "create"}),
        name="vendor_list",
    ),
    path(
        "<int:vendor_id>/",
        views.VendorViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="vendor_detail",
    ),
    path(
        "tasks/",
        views.VendorTaskViewSet.as_view({"get": "list", "post": "create"}),
        name="vendor_task_list",
    ),
    path(
        "tasks/<int:task_id>/",
        views.VendorTaskViewSet.as_view({"get": "retrieve"}),
        name="vendor_task_detail",
    ),
    path(
        "tasks/<int:task_id>/skip/",
        views.VendorTaskViewSet.as_view({"post": "skip"}),
        name="vendor_task_skip",
    ),
    path("inbox/", views.InboxViewSet.as_view({"get": "list"}), name="vendor_inbox"),
    path(
        "inbox/<int:receipt_id>/",
        views.InboxViewSet.as_view({"get": "retrieve"}),
        name="vendor_receipt",
    ),
    path(
        "inbox/<int:receipt_id>/answer/",
        views.InboxViewSet.as_view({"post": "answer"}),
        name="vendor_receipt_answer",
    ),
]
