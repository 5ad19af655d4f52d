"""The incidents API, under `/api/v1/orgs/<org_slug>/incidents/` (docs/incidents.md).

- `` GET the register, `<id>/` GET an incident with its legs, `<id>/districts/` GET the
  districts a vendor notified and their acknowledgements (incidents.view);
- `new/` POST record an incident; `<id>/status/`, `<id>/regimes/`, `<id>/notify/` (a vendor
  notifies districts), `<id>/acknowledge/` (a district acknowledges a vendor's notice): POST
  (incidents.manage).

A refusal about one input answers 400 naming the field; a refusal in the incident's state
(status, already notified) 409 `{"detail", "code"}`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization, User
from accounts.permissions import Permission
from incidents import selectors, services
from incidents.api import serializers as s
from incidents.models import Incident
from incidents.services import IncidentActionRefused
from k12cloud.api import OrganizationViewSet
from k12cloud.encryption.keys import data_keys_preloaded

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, keyed by field"),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not signed in or not allowed"),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such organization or incident"),
}
REFUSED = {409: OpenApiResponse(s.IncidentRefusalSerializer, description="Refused in this state")}
STATE_CODES = {"status", "incident"}
INCIDENT_ID = OpenApiParameter("incident_id", OpenApiTypes.INT, OpenApiParameter.PATH)


def refusal_response(refused: IncidentActionRefused) -> Response:
    errors = refused.message_dict if hasattr(refused, "error_dict") else {}
    state = [key for key in errors if key in STATE_CODES]
    if state:
        return Response({"detail": errors[state[0]][0], "code": state[0]}, status=409)
    return Response(errors or {"detail": refused.messages}, status=status.HTTP_400_BAD_REQUEST)


class IncidentViewSet(OrganizationViewSet):
    pagination_class = None
    action_permissions: ClassVar[dict[str, Permission]] = {
        "list": Permission.INCIDENTS_VIEW,
        "create": Permission.INCIDENTS_MANAGE,
        "retrieve": Permission.INCIDENTS_VIEW,
        "set_status": Permission.INCIDENTS_MANAGE,
        "confirm_regimes": Permission.INCIDENTS_MANAGE,
        "notify_districts": Permission.INCIDENTS_MANAGE,
        "cascades": Permission.INCIDENTS_VIEW,
        "acknowledge": Permission.INCIDENTS_MANAGE,
    }
    serializer_class = s.IncidentSerializer
    queryset = Incident._base_manager.none()  # for the schema generator only

    def actor(self) -> User | None:
        user = self.request.user
        return user if isinstance(user, User) else None  # None: an API key

    def _load(self) -> Incident:
        try:
            return selectors.incident_get(
                organization=self.organization, incident_id=self.kwargs["incident_id"]
            )
        except Incident.DoesNotExist:
            raise Http404("No such incident.") from None

    def _valid(self, serializer_class: Any) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _detail(self, incident: Incident, code: int = 200) -> Response:
        legs = selectors.incident_legs(organization=self.organization, incident=incident)
        return Response(
            s.IncidentDetailSerializer(incident, context={"legs": legs}).data, status=code
        )

    @extend_schema(
        operation_id="incidents_list",
        summary="The incident register (every incident, breach or not)",
        responses={200: s.IncidentSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with data_keys_preloaded(self.organization.pk):
            rows = list(selectors.incident_register(organization=self.organization))
            return Response(s.IncidentSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="incidents_create",
        summary="Record an incident",
        request=s.IncidentWriteSerializer,
        responses={201: s.IncidentDetailSerializer, **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(s.IncidentWriteSerializer)
        try:
            incident = services.incident_record(
                organization=self.organization,
                actor=self.actor(),
                values=services.IncidentValues(**data),
            )
        except IncidentActionRefused as refused:
            return refusal_response(refused)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="incidents_retrieve",
        summary="One incident with its legs and due times",
        parameters=[INCIDENT_ID],
        responses={200: s.IncidentDetailSerializer, **ERRORS},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(self._load())

    @extend_schema(
        operation_id="incidents_set_status",
        summary="Confirm a breach, record it is not one, contain or close it",
        parameters=[INCIDENT_ID],
        request=s.StatusWriteSerializer,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **REFUSED},
    )
    def set_status(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(s.StatusWriteSerializer)
        try:
            incident = services.incident_status_set(
                organization=self.organization,
                actor=self.actor(),
                incident=self._load(),
                status=data["status"],
                reasoning=data["reasoning"],
            )
        except IncidentActionRefused as refused:
            return refusal_response(refused)
        return self._detail(incident)

    @extend_schema(
        operation_id="incidents_confirm_regimes",
        summary="Confirm the regimes that apply (the legs are recomputed)",
        parameters=[INCIDENT_ID],
        request=s.RegimesWriteSerializer,
        responses={200: s.IncidentDetailSerializer, **ERRORS},
    )
    def confirm_regimes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(s.RegimesWriteSerializer)
        try:
            incident = services.incident_regimes_confirm(
                organization=self.organization,
                actor=self.actor(),
                incident=self._load(),
                regimes=data["regimes"],
            )
        except IncidentActionRefused as refused:
            return refusal_response(refused)
        return self._detail(incident)

    @extend_schema(
        operation_id="incidents_notify_districts",
        summary="A vendor notifies the districts affected through the portal",
        parameters=[INCIDENT_ID],
        request=s.DistrictsWriteSerializer,
        responses={201: s.CascadeSerializer(many=True), **ERRORS, **REFUSED},
    )
    def notify_districts(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(s.DistrictsWriteSerializer)
        districts = list(
            Organization.objects.filter(slug__in=data["districts"], kind=Organization.Kind.DISTRICT)
        )
        if len(districts) != len(set(data["districts"])):
            return Response({"districts": ["No district has one of these slugs."]}, status=400)
        try:
            cascades = services.incident_notify_districts(
                organization=self.organization,
                actor=self.actor(),
                incident=self._load(),
                districts=districts,
            )
        except IncidentActionRefused as refused:
            return refusal_response(refused)
        return Response(s.CascadeSerializer(cascades, many=True).data, status=201)

    @extend_schema(
        operation_id="incidents_cascades",
        summary="The districts notified and their acknowledgements",
        parameters=[INCIDENT_ID],
        responses={200: s.CascadeSerializer(many=True), **ERRORS},
    )
    def cascades(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = selectors.incident_cascades(organization=self.organization, incident=self._load())
        return Response(s.CascadeSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="incidents_acknowledge",
        summary="A district acknowledges a vendor's notice",
        parameters=[INCIDENT_ID],
        request=None,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **REFUSED},
    )
    def acknowledge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            incident = services.incident_acknowledge(
                organization=self.organization, actor=self.actor(), incident=self._load()
            )
        except IncidentActionRefused as refused:
            return refusal_response(refused)
        return self._detail(incident)
