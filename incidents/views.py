"""Organization pages of incidents (`/o/<org_slug>/incidents/...`), in the `accounts` namespace.

Reading the register and an incident: INCIDENTS_VIEW. Every change (record, status, regimes,
delays, notifying districts, acknowledging, uploading lists, notices, submissions):
INCIDENTS_MANAGE. Views are thin: the services decide, the selectors read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import Organization, User
from accounts.permissions import Permission, role_allows
from incidents import letters, selectors, services
from incidents.forms import (
    DelayEndForm,
    DelayForm,
    IncidentForm,
    NoticeForm,
    NotifyDistrictsForm,
    RecipientsForm,
    RegimesForm,
    StatusForm,
    SubmissionForm,
)
from incidents.models import Incident, IncidentLeg, LawEnforcementDelay, RecipientList
from incidents.rules import regime_jurisdictions
from incidents.services import IncidentActionRefused
from incidents.templates_text import notice_template
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.portal import OrganizationView

AUTHORITY_RECIPIENTS = frozenset(
    {"nysed-cpo", "ca-ag", "tx-dir", "tx-ag", "wa-ag", "eu-supervisory-authority", "opc", "cai"}
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _add_errors(form: Any, refused: IncidentActionRefused) -> None:
    if hasattr(refused, "error_dict"):
        for field, errors in refused.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, refused.messages)


class _Page(OrganizationView, TemplateView):
    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"accounts:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})

    def incident(self) -> Incident:
        try:
            return selectors.incident_get(
                organization=self.organization, incident_id=self.kwargs["incident_id"]
            )
        except ObjectDoesNotExist:
            raise Http404("No such incident.") from None

    def leg(self, incident: Incident) -> IncidentLeg:
        try:
            return IncidentLeg.objects.for_organization(self.organization).get(
                pk=self.kwargs["leg_id"], incident=incident
            )
        except ObjectDoesNotExist:
            raise Http404("No such leg.") from None

    def detail_url(self, incident: Incident) -> str:
        return self.url("incident_detail", incident_id=incident.pk)


class IncidentListView(_Page):
    permission = Permission.INCIDENTS_VIEW
    template_name = "incidents/incident_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        with data_keys_preloaded(self.organization.pk):
            incidents = list(selectors.incident_register(organization=self.organization))
            for incident in incidents:
                incident.title_text = incident.title  # type: ignore[attr-defined]  # decrypted once here
        context.update(
            incidents=incidents,
            can_manage=role_allows(self.membership.role, Permission.INCIDENTS_MANAGE),
        )
        return context


class IncidentCreateView(_Page):
    permission = Permission.INCIDENTS_MANAGE
    template_name = "incidents/incident_form.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = kwargs.get("form") or IncidentForm(time_zone=self.organization.time_zone)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = IncidentForm(request.POST, time_zone=self.organization.time_zone)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = services.incident_record(
                    organization=self.organization,
                    actor=_user(request),
                    values=services.IncidentValues(
                        title=data["title"],
                        description=data["description"],
                        systems=data["systems"],
                        data_categories=data["data_categories"],
                        discovered_at=data["discovered_at"],
                        affected_total=data["affected_total"],
                        residents=data["residents"],
                    ),
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("Incident %s recorded.") % incident.reference)
                return HttpResponseRedirect(self.detail_url(incident))
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _regime_choices() -> list[tuple[str, str]]:
    return [
        (regime, f"{regime} ({where})") for regime, where in sorted(regime_jurisdictions().items())
    ]


class IncidentDetailView(_Page):
    permission = Permission.INCIDENTS_VIEW
    template_name = "incidents/incident_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        organization = self.organization
        incident = self.incident()
        legs = selectors.incident_legs(organization=organization, incident=incident)
        for leg in legs:
            leg.countdown = selectors.leg_countdown(leg, organization)  # type: ignore[attr-defined]
            leg.is_authority = leg.recipient in AUTHORITY_RECIPIENTS  # type: ignore[attr-defined]
            leg.is_people = leg.recipient == "individuals"  # type: ignore[attr-defined]
        lists = selectors.incident_recipient_lists(organization=organization, incident=incident)
        is_vendor = organization.kind != Organization.Kind.DISTRICT
        cascades = selectors.incident_cascades(organization=organization, incident=incident)
        notified = {c.district_id for c in cascades}
        district_choices = []
        if is_vendor:
            district_choices = [
                (str(d.pk), d.name)
                for d in services.districts_listing_vendor(vendor=organization)
                if d.pk not in notified
            ]
        delays = selectors.incident_delays(organization=organization, incident=incident)
        with data_keys_preloaded(organization.pk):  # decrypt every field here, one key read
            for name in ("title", "description", "systems", "not_breach_reasoning"):
                getattr(incident, name)
            for delay in delays:
                delay.agency, delay.requested_by  # noqa: B018
            for cascade in cascades:
                cascade.acknowledged_by_name  # noqa: B018
        context.update(
            incident=incident,
            legs=legs,
            delays=delays,
            cascades=cascades,
            recipient_lists=lists,
            notices=selectors.incident_notices(organization=organization, incident=incident),
            is_vendor=is_vendor,
            can_manage=role_allows(self.membership.role, Permission.INCIDENTS_MANAGE),
            status_form=kwargs.get("status_form") or StatusForm(time_zone=organization.time_zone),
            regimes_form=kwargs.get("regimes_form")
            or RegimesForm(
                choices=_regime_choices(),
                initial={"regimes": incident.regimes or incident.proposed_regimes},
            ),
            delay_form=kwargs.get("delay_form") or DelayForm(time_zone=organization.time_zone),
            delay_end_form=DelayEndForm(),
            notify_form=kwargs.get("notify_form")
            or (NotifyDistrictsForm(choices=district_choices) if district_choices else None),
            recipients_form=kwargs.get("recipients_form") or RecipientsForm(),
            submission_form=SubmissionForm(),
        )
        return context


class _IncidentAction(_Page):
    """A POST that changes the incident, then back to its page (errors shown there)."""

    permission = Permission.INCIDENTS_MANAGE
    template_name = "incidents/incident_detail.html"
    http_method_names = ["post"]
    form_name = ""

    def detail_with(self, form: Any) -> HttpResponse:
        view = IncidentDetailView()
        view.setup(self.request, **self.kwargs)
        view.organization, view.membership = self.organization, self.membership
        return view.render_to_response(view.get_context_data(**{self.form_name: form}), status=400)


class IncidentStatusView(_IncidentAction):
    form_name = "status_form"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        form = StatusForm(request.POST, time_zone=self.organization.time_zone)
        if form.is_valid():
            try:
                services.incident_status_set(
                    organization=self.organization,
                    actor=_user(request),
                    incident=incident,
                    status=form.cleaned_data["status"],
                    reasoning=form.cleaned_data["reasoning"],
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("The status was changed."))
                return HttpResponseRedirect(self.detail_url(incident))
        return self.detail_with(form)


class IncidentRegimesView(_IncidentAction):
    form_name = "regimes_form"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        form = RegimesForm(request.POST, choices=_regime_choices())
        if form.is_valid():
            try:
                services.incident_regimes_confirm(
                    organization=self.organization,
                    actor=_user(request),
                    incident=incident,
                    regimes=form.cleaned_data["regimes"],
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("The regimes were confirmed and the legs recomputed."))
                return HttpResponseRedirect(self.detail_url(incident))
        return self.detail_with(form)


class IncidentDelayView(_IncidentAction):
    form_name = "delay_form"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        form = DelayForm(request.POST, time_zone=self.organization.time_zone)
        if form.is_valid():
            try:
                services.incident_delay_record(
                    organization=self.organization,
                    actor=_user(request),
                    incident=incident,
                    agency=form.cleaned_data["agency"],
                    requested_by=form.cleaned_data["requested_by"],
                    requested_at=form.cleaned_data["requested_at"],
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("The law-enforcement delay was recorded."))
                return HttpResponseRedirect(self.detail_url(incident))
        return self.detail_with(form)


class IncidentDelayEndView(_IncidentAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        try:
            delay = LawEnforcementDelay.objects.for_organization(self.organization).get(
                pk=kwargs["delay_id"], incident=incident
            )
        except ObjectDoesNotExist:
            raise Http404("No such delay.") from None
        form = DelayEndForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the date the risk ended."))
            return HttpResponseRedirect(self.detail_url(incident))
        services.incident_delay_record(
            organization=self.organization,
            actor=_user(request),
            incident=incident,
            agency="",
            requested_by="",
            requested_at=delay.requested_at,
            risk_ended_on=form.cleaned_data["risk_ended_on"],
            delay=delay,
        )
        messages.success(request, _("The end of the risk was recorded; the legs were recomputed."))
        return HttpResponseRedirect(self.detail_url(incident))


class IncidentNotifyDistrictsView(_IncidentAction):
    form_name = "notify_form"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        choices = [
            (str(d.pk), d.name) for d in services.districts_listing_vendor(vendor=self.organization)
        ]
        form = NotifyDistrictsForm(request.POST, choices=choices)
        if form.is_valid():
            chosen = {int(pk) for pk in form.cleaned_data["districts"]}
            districts = list(Organization.objects.filter(pk__in=chosen))
            try:
                services.incident_notify_districts(
                    organization=self.organization,
                    actor=_user(request),
                    incident=incident,
                    districts=districts,
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("The districts were notified through the portal."))
                return HttpResponseRedirect(self.detail_url(incident))
        return self.detail_with(form)


class IncidentAcknowledgeView(_IncidentAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        try:
            services.incident_acknowledge(
                organization=self.organization, actor=_user(request), incident=incident
            )
        except IncidentActionRefused as refused:
            messages.error(request, refused.messages[0])
        else:
            messages.success(request, _("You acknowledged the vendor's notice."))
        return HttpResponseRedirect(self.detail_url(incident))


class IncidentRecipientsView(_IncidentAction):
    form_name = "recipients_form"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        form = RecipientsForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                uploaded = services.recipients_upload(
                    organization=self.organization,
                    actor=_user(request),
                    incident=incident,
                    kind=form.cleaned_data["kind"],
                    file_name=upload.name or "list.csv",
                    content=upload.read(services.MAX_CSV_BYTES + 1),
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                messages.success(request, _("%d recipients uploaded.") % uploaded.row_count)
                return HttpResponseRedirect(self.detail_url(incident))
        return self.detail_with(form)


class NoticePrepareView(_Page):
    """Prepare a leg's notice from its template (English and Spanish), with a preview."""

    permission = Permission.INCIDENTS_MANAGE
    template_name = "incidents/notice_form.html"

    def _lists(self, incident: Incident) -> list[RecipientList]:
        return selectors.incident_recipient_lists(organization=self.organization, incident=incident)

    def _form(self, incident: Incident, leg: IncidentLeg, data: Any = None) -> NoticeForm:
        choices = [
            (str(r.pk), f"{r.get_kind_display()} · {r.row_count}") for r in self._lists(incident)
        ]
        initial = None
        if data is None:
            english = notice_template(self.organization, incident, leg, "en")
            spanish = notice_template(self.organization, incident, leg, "es")
            initial = {
                "subject_en": english[0],
                "body_en": english[1],
                "subject_es": spanish[0],
                "body_es": spanish[1],
                "recipient_lists": [c[0] for c in choices],
            }
        return NoticeForm(data, initial=initial, list_choices=choices)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        incident = self.incident()
        leg = self.leg(incident)
        form = kwargs.get("form") or self._form(incident, leg)
        context.update(incident=incident, leg=leg, form=form)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        leg = self.leg(incident)
        form = self._form(incident, leg, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            chosen = {int(pk) for pk in data["recipient_lists"]}
            try:
                notice = services.notice_prepare(
                    organization=self.organization,
                    actor=_user(request),
                    leg=leg,
                    subject_en=data["subject_en"],
                    body_en=data["body_en"],
                    subject_es=data["subject_es"],
                    body_es=data["body_es"],
                    recipient_lists=[r for r in self._lists(incident) if r.pk in chosen],
                    include_members=data["include_members"],
                )
            except IncidentActionRefused as refused:
                _add_errors(form, refused)
            else:
                return HttpResponseRedirect(
                    self.url("incident_notice", incident_id=incident.pk, notice_id=notice.pk)
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class NoticeDetailView(_Page):
    """A notice's preview before sending, then its progress, deliveries and bounces."""

    permission = Permission.INCIDENTS_VIEW
    template_name = "incidents/notice_detail.html"

    def notice(self, incident: Incident) -> Any:
        try:
            notice = selectors.notice_get(
                organization=self.organization, notice_id=self.kwargs["notice_id"]
            )
        except ObjectDoesNotExist:
            raise Http404("No such notice.") from None
        if notice.incident_id != incident.pk:
            raise Http404("No such notice.")
        return notice

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        incident = self.incident()
        notice = self.notice(incident)
        context.update(
            incident=incident,
            notice=notice,
            counts=selectors.notice_delivery_counts(organization=self.organization, notice=notice),
            bounces=selectors.notice_bounces(organization=self.organization, notice=notice),
            can_manage=role_allows(self.membership.role, Permission.INCIDENTS_MANAGE),
        )
        return context


class NoticeSendView(NoticeDetailView):
    permission = Permission.INCIDENTS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        notice = self.notice(incident)
        try:
            services.notice_send(
                organization=self.organization, actor=_user(request), notice=notice
            )
        except IncidentActionRefused as refused:
            messages.error(request, refused.messages[0])
        else:
            messages.success(request, _("Sending has started."))
        return HttpResponseRedirect(
            self.url("incident_notice", incident_id=incident.pk, notice_id=notice.pk)
        )


class LetterView(_Page):
    """A letter to a regulator for the organization to submit: HTML, or PDF with ?format=pdf."""

    permission = Permission.INCIDENTS_VIEW

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        leg = self.leg(incident)
        if leg.recipient not in AUTHORITY_RECIPIENTS:
            raise Http404("No letter for this leg.")
        letter = letters.letter_for(self.organization, incident, leg)
        if request.GET.get("format") == "pdf":
            response = HttpResponse(letters.letter_pdf(letter), content_type="application/pdf")
            response["Content-Disposition"] = (
                f'attachment; filename="{incident.reference}-{leg.recipient}.pdf"'
            )
            return response
        return HttpResponse(letters.letter_html(letter), content_type="text/html; charset=utf-8")


class SubmissionView(_IncidentAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        incident = self.incident()
        leg = self.leg(incident)
        form = SubmissionForm(request.POST)
        confirmation = form.cleaned_data["confirmation"] if form.is_valid() else ""
        services.regulator_submission_record(
            organization=self.organization, actor=_user(request), leg=leg, confirmation=confirmation
        )
        messages.success(request, _("The submission was recorded and the leg marked met."))
        return HttpResponseRedirect(self.detail_url(incident))
