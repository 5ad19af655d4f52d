"""Routes of the privacy requests API, under `/api/v1/orgs/<org_slug>/requests/`.

Included from accounts/api/urls.py, so the names live in the `accounts_api` namespace. Each
route maps one method to one action with one permission (the permission table has a row per
name): the queue is GET on the collection, intake is POST on `intake/`.
"""

from django.urls import URLPattern, path

from privacy_requests.api.routing import RequestRoutingViewSet as RoutingV
from privacy_requests.api.views import PrivacyRequestViewSet as V
from privacy_requests.fulfilment.api import (  # fulfilment engineer
    EvidenceViewSet,
    FulfilmentViewSet,
)

ACTIONS = ("acknowledge", "verify", "assign", "extend", "close", "transition", "duplicate")

urlpatterns: list[URLPattern] = [
    path("", V.as_view({"get": "list"}), name="request_list"),
    path("intake/", V.as_view({"post": "intake"}), name="request_intake"),
    path("<int:request_id>/", V.as_view({"get": "retrieve"}), name="request_detail"),
    *(
        path(f"<int:request_id>/{action}/", V.as_view({"post": action}), name=f"request_{action}")
        for action in ACTIONS
    ),
    path(
        "<int:request_id>/messages/",
        V.as_view({"post": "messages"}),
        name="request_message_add",
    ),
    # --- fulfilment (fulfilment engineer) ---
    path(
        "<int:request_id>/package/",
        FulfilmentViewSet.as_view({"post": "prepare"}),
        name="request_package_prepare",
    ),
    path(
        "<int:request_id>/package/download/",
        FulfilmentViewSet.as_view({"get": "download"}),
        name="request_package_download",
    ),
    path(
        "<int:request_id>/fulfil/",
        FulfilmentViewSet.as_view({"post": "fulfil"}),
        name="request_fulfil",
    ),
    path(
        "<int:request_id>/deletion/",
        FulfilmentViewSet.as_view({"get": "plan"}),
        name="request_deletion_plan",
    ),
    path(
        "<int:request_id>/deletion/perform/",
        FulfilmentViewSet.as_view({"post": "erase"}),
        name="request_deletion_perform",
    ),
    path(
        "<int:request_id>/correction/",
        FulfilmentViewSet.as_view({"post": "correct"}),
        name="request_correction",
    ),
    path(
        "<int:request_id>/evidence/",
        EvidenceViewSet.as_view({"get": "list_evidence", "post": "add_evidence"}),
        name="request_evidence",
    ),
    path(
        "<int:request_id>/evidence/<int:evidence_id>/",
        EvidenceViewSet.as_view({"delete": "remove_evidence"}),
        name="request_evidence_remove",
    ),
    # --- end of fulfilment ---
    # --- routing (routing engineer) ---
    path("search/", RoutingV.as_view({"post": "search"}), name="request_search"),
    path("<int:request_id>/route/", RoutingV.as_view({"post": "route"}), name="request_route"),
    # --- end of routing ---
]
