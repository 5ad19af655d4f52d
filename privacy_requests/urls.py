"""Organization pages of privacy requests (`/o/<org_slug>/requests/...`).

Included from accounts/urls.py, so the URL names live in the `accounts` namespace
(`accounts:request_detail`). Each POST action is its own view with its own permission.
"""

from django.urls import URLPattern, path

from privacy_requests import queue_views, views

urlpatterns: list[URLPattern] = [
    # --- the triage queue (queue engineer) ---
    path("", queue_views.RequestQueueView.as_view(), name="request_queue"),
    path("bulk/assign/", queue_views.BulkAssignView.as_view(), name="request_bulk_assign"),
    path(
        "bulk/acknowledge/",
        queue_views.BulkAcknowledgeView.as_view(),
        name="request_bulk_acknowledge",
    ),
    path("export/", queue_views.RequestRegisterExportView.as_view(), name="request_export"),
    # --- the request workflow (intake, request page, actions) ---
    path("new/", views.RequestIntakeView.as_view(), name="request_create"),
    path("<int:request_id>/", views.RequestDetailView.as_view(), name="request_detail"),
    path("<int:request_id>/verify/", views.RequestVerifyView.as_view(), name="request_verify"),
    path(
        "<int:request_id>/acknowledge/",
        views.RequestAcknowledgeView.as_view(),
        name="request_acknowledge",
    ),
    path("<int:request_id>/assign/", views.RequestAssignView.as_view(), name="request_assign"),
    path("<int:request_id>/extend/", views.RequestExtendView.as_view(), name="request_extend"),
    path("<int:request_id>/close/", views.RequestCloseView.as_view(), name="request_close"),
    path(
        "<int:request_id>/status/",
        views.RequestTransitionView.as_view(),
        name="request_transition",
    ),
    path(
        "<int:request_id>/duplicate/",
        views.RequestDuplicateView.as_view(),
        name="request_duplicate",
    ),
    path(
        "<int:request_id>/messages/",
        views.RequestMessageView.as_view(),
        name="request_message_add",
    ),
]
