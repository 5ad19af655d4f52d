"""Routes of the privacy requests API, under `/api/v1/orgs/<org_slug>/requests/`.

Included from accounts/api/urls.py, so the names live in the `accounts_api` namespace. Each
route maps one method to one action with one permission (the permission table has a row per
name): the queue is GET on the collection, intake is POST on `intake/`.
"""

from django.urls import URLPattern, path

from privacy_requests.api.views import PrivacyRequestViewSet as V

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
]
