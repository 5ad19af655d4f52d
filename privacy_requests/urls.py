"""Organization pages of privacy requests (`/o/<org_slug>/requests/...`).

Included from accounts/urls.py, so the URL names live in the `accounts` namespace
(`accounts:request_detail`). Each POST action is its own view with its own permission.
"""

from django.urls import URLPattern, path

from privacy_requests import contact_views, views
from privacy_requests.fulfilment import views as fulfilment_views  # fulfilment engineer
from privacy_requests.queue import views as queue_views

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
    # the privacy contact: the Reply-To of requester emails (privacy_requests.contact)
    path("privacy-contact/", contact_views.PrivacyContactView.as_view(), name="privacy_contact"),
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
    # --- fulfilment (fulfilment engineer) ---
    path(
        "<int:request_id>/fulfilment/",
        fulfilment_views.FulfilmentView.as_view(),
        name="fulfilment",
    ),
    path(
        "<int:request_id>/fulfilment/package/",
        fulfilment_views.PackagePrepareView.as_view(),
        name="fulfilment_package",
    ),
    path(
        "<int:request_id>/fulfilment/package/download/",
        fulfilment_views.PackageDownloadView.as_view(),
        name="fulfilment_package_download",
    ),
    path(
        "<int:request_id>/fulfilment/fulfil/",
        fulfilment_views.FulfilView.as_view(),
        name="fulfilment_fulfil",
    ),
    path(
        "<int:request_id>/fulfilment/deletion/",
        fulfilment_views.DeletionView.as_view(),
        name="fulfilment_deletion",
    ),
    path(
        "<int:request_id>/fulfilment/correction/",
        fulfilment_views.CorrectionView.as_view(),
        name="fulfilment_correction",
    ),
    path(
        "<int:request_id>/fulfilment/evidence/",
        fulfilment_views.EvidenceAddView.as_view(),
        name="fulfilment_evidence_add",
    ),
    path(
        "<int:request_id>/fulfilment/evidence/<int:evidence_id>/remove/",
        fulfilment_views.EvidenceRemoveView.as_view(),
        name="fulfilment_evidence_remove",
    ),
    path(
        "<int:request_id>/fulfilment/evidence/<int:evidence_id>/download/",
        fulfilment_views.EvidenceDownloadView.as_view(),
        name="fulfilment_evidence_download",
    ),
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    path("search/", queue_views.RequestQueueSearchView.as_view(), name="request_search"),
    path("<int:request_id>/route/", views.RequestRouteView.as_view(), name="request_route"),
    path(
        "<int:request_id>/deadlines/review/",
        views.RequestDeadlinesReviewView.as_view(),
        name="request_deadlines_review",
    ),
    # --- end of routing ---
]
