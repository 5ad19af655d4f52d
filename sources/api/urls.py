"""Routes of the SIS sources API, under `/api/v1/orgs/<org_slug>/sources/` (included from
accounts/api/urls.py: names in the `accounts_api` namespace)."""

from django.urls import URLPattern, path

from sources.api.views import RequestSisViewSet as R
from sources.api.views import SourceViewSet as S

urlpatterns: list[URLPattern] = [
    path("", S.as_view({"get": "list"}), name="source_list"),
    path("<int:source_id>/imports/", S.as_view({"post": "upload"}), name="source_upload"),
    path("imports/<int:import_id>/", S.as_view({"get": "import_detail"}), name="source_import"),
    path(
        "requests/<int:request_id>/search/",
        R.as_view({"post": "search"}),
        name="request_sis_search",
    ),
    path(
        "requests/<int:request_id>/confirm/",
        R.as_view({"post": "confirm"}),
        name="request_sis_confirm",
    ),
    path(
        "requests/<int:request_id>/records/",
        R.as_view({"get": "records"}),
        name="request_sis_records",
    ),
    path(
        "requests/<int:request_id>/links/<int:link_id>/deletion/",
        R.as_view({"post": "deletion"}),
        name="request_sis_deletion",
    ),
]
