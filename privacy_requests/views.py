"""Organization pages of privacy requests: staff intake, the request page and its actions.

Each action is its own POST-only view with its own permission (the permission table lists
each one). A refused action or bad input re-renders the request page with the error next to
the form that caused it and a summary at the top; nothing already saved is lost.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from accounts.models import Organization, User
from accounts.permissions import Permission, role_allows
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.portal import OrganizationView
from privacy_requests import forms as request_forms
from privacy_requests.deadlines import DeadlineError
from privacy_requests.extension_notice import extension_notice_text
from privacy_requests.labels import EVENT_LABELS as EVENT_LABELS  # re-exported
from privacy_requests.labels import event_label, status_label
from privacy_requests.models import PrivacyRequest, RequestEvent
from privacy_requests.routing import (
    request_deadline_review,
    request_deadlines_review,
    request_route,
    route_targets,
)
from privacy_requests.selectors import (
    request_assignable_members,
    request_deadline_summary,
    request_get,
    request_get_by_reference,
    request_timeline,
)
from privacy_requests.services import (
    RequestActionRefused,
    request_acknowledge,
    request_assign,
    request_close,
    request_extend,
    request_mark_duplicate,
    request_message_add,
    request_receive,
    request_transition,
    request_verify,
)
from privacy_requests.visibility import (
    RedactedEvent,
    request_access,
    visible_emails,
    visible_messages,
    visible_request,
    visible_timeline,
)

# form context name -> form class, for the request page
ACTION_FORMS: dict[str, type[forms.Form]] = {
    "verify_form": request_forms.VerifyForm,
    "acknowledge_form": request_forms.AcknowledgeForm,
    "extend_form": request_forms.ExtendForm,
    "close_form": request_forms.CloseForm,
    "transition_form": request_forms.TransitionForm,
    "duplicate_form": request_forms.DuplicateForm,
    "message_form": request_forms.MessageForm,
}


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # OrganizationView requires sign-in
    return user


class RequestDetailView(OrganizationView, TemplateView):
    """The request page: facts, deadlines with the binding rule, actions, messages, timeline."""

    permission = Permission.REQUESTS_VIEW
    template_name = "privacy_requests/request_detail.html"
    privacy_request: PrivacyRequest

    def load_request(self) -> PrivacyRequest:
        try:
            return request_get(organization=self.organization, request_id=self.kwargs["request_id"])
        except PrivacyRequest.DoesNotExist:
            raise Http404("No such request.") from None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.privacy_request = self.load_request()
        return self.render_page()

    def render_page(self, **kwargs: Any) -> TemplateResponse:
        """Render now, with the organization's data keys read once for every decrypted value
        (request fields, messages): the query count does not grow with the thread. A role that
        reads no personal value decrypts nothing, and the keys are not read."""
        personal = request_access(self.membership.role).personal
        with data_keys_preloaded(self.organization.pk) if personal else nullcontext():
            response = self.render_to_response(self.get_context_data(**kwargs))
            assert isinstance(response, TemplateResponse)
            response.render()
        return response

    def acknowledgement_text(self, privacy_request: PrivacyRequest) -> str:
        with translation.override(privacy_request.language or None):
            return render_to_string(
                "privacy_requests/email/acknowledgement.txt",
                {"privacy_request": privacy_request, "organization": self.organization},
            ).strip()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pr = self.privacy_request
        org = self.organization
        allowed = context["allowed"]
        access = request_access(self.membership.role)  # which values the role may read
        summary = request_deadline_summary(organization=org, request=pr)
        for name, form_class in ACTION_FORMS.items():
            if name not in context and Permission.REQUESTS_WORK.value in allowed:
                initial = {}
                if name == "acknowledge_form":
                    initial = {"message": self.acknowledgement_text(pr)}
                if name == "transition_form":
                    # the menu offers only the moves legal from the request's status now
                    context[name] = request_forms.TransitionForm(
                        choices=request_forms.transition_choices(
                            pr, pausing_allowed=summary.pausing_allowed
                        )
                    )
                    continue
                context[name] = form_class(initial=initial)
        if "assign_form" not in context and self.may_change_assignment(allowed):
            context["assign_form"] = self.assign_form()
        events = request_timeline(organization=org, request=pr)
        context.update(
            deadlines=summary,
            timeline=[(event, self.describe(event)) for event in visible_timeline(events, access)],
            thread=visible_messages(organization=org, request=pr, access=access),
            can_work=Permission.REQUESTS_WORK.value in allowed and pr.is_open,
            access=access,
        )
        if "extend_form" in context and not pr.extended_at and summary.respond_by_extended:
            # the written notice the extension sends, as it will read (reason: a placeholder)
            context["extension_notice_preview"] = extension_notice_text(
                privacy_request=pr,
                organization_name=org.name,
                extended_respond_by=summary.respond_by_extended,
                reason=None,
            )
            context["extension_notice_by_email"] = bool(pr.requester_email)
        context.update(request_page_context(organization=org, privacy_request=pr, context=context))
        from k12cloud.notifications.selectors import emails_for  # notifications: emails sent

        context["emails"] = visible_emails(emails_for(organization=org, target=pr), access)
        # the template gets the request as the role may read it (forbidden fields are None)
        context["privacy_request"] = visible_request(pr, access)
        return context

    def may_change_assignment(self, allowed: frozenset[str]) -> bool:
        """Officers and admins: always. Privacy staff (take a request): when it is unassigned
        or theirs (accounts.permissions.assignment_allowed)."""
        if Permission.REQUESTS_ASSIGN.value in allowed:
            return True
        assignee_id = self.privacy_request.assignee_id
        return Permission.REQUESTS_ASSIGN_SELF.value in allowed and assignee_id in (
            None,
            self.request.user.pk,
        )

    def assign_form(self, data: Any = None) -> request_forms.AssignForm:
        if role_allows(self.membership.role, Permission.REQUESTS_ASSIGN):
            members = request_assignable_members(organization=self.organization)
            choices = [(m.user_id, m.user.full_name or m.user.email) for m in members]
        else:  # privacy staff take a request: themselves only (no query)
            me = _acting_user(self.request)
            choices = [(me.pk, _("Me (%(name)s)") % {"name": me.full_name or me.email})]
        initial = {
            "assignee": getattr(self, "privacy_request", None) and self.privacy_request.assignee_id
        }
        return request_forms.AssignForm(data, choices=choices, initial=initial)

    @staticmethod
    def describe(event: RequestEvent | RedactedEvent) -> str:
        label = event_label(event.kind)
        if event.from_status and event.to_status and event.from_status != event.to_status:
            return _("%(label)s: %(from)s → %(to)s") % {
                "label": label,
                "from": status_label(event.from_status),
                "to": status_label(event.to_status),
            }
        if event.to_status and not event.from_status:
            return _("%(label)s (%(status)s)") % {
                "label": label,
                "status": status_label(event.to_status),
            }
        return label


class _RequestActionView(RequestDetailView):
    """POST an action's form; on success redirect to the request page, else re-render it."""

    permission = Permission.REQUESTS_WORK
    http_method_names = ["post"]
    form_name: ClassVar[str]
    success_message: ClassVar[Any] = ""

    def make_form(self) -> forms.Form:
        return ACTION_FORMS[self.form_name](self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> None:
        raise NotImplementedError

    def post(self, request: HttpRequest, org_slug: str, request_id: int) -> HttpResponse:
        self.privacy_request = self.load_request()
        form = self.make_form()
        if form.is_valid():
            try:
                self.perform(form, _acting_user(request))
            except RequestActionRefused as refusal:
                form.add_error(None, refusal.messages[0])
            else:
                messages.success(request, self.success_message)
                return redirect("accounts:request_detail", org_slug=org_slug, request_id=request_id)
        action_error = (
            form.non_field_errors()[0]
            if form.non_field_errors()
            else _("The action was not taken. Correct the marked fields.")
        )
        return self.render_page(
            **{self.form_name: form},
            action_error=action_error,
            action_error_target=self.form_name,
        )


class RequestVerifyView(_RequestActionView):
    form_name = "verify_form"
    success_message = gettext_lazy("Identity verified.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_verify(
            request=self.privacy_request,
            actor=actor,
            method=form.cleaned_data["method"],
            evidence=form.cleaned_data["evidence"],
        )


class RequestAcknowledgeView(_RequestActionView):
    form_name = "acknowledge_form"
    success_message = gettext_lazy("Receipt acknowledged.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_acknowledge(
            request=self.privacy_request, actor=actor, message=form.cleaned_data["message"]
        )


class RequestExtendView(_RequestActionView):
    form_name = "extend_form"
    success_message = gettext_lazy("Deadline extended.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_extend(
            request=self.privacy_request, actor=actor, reason=form.cleaned_data["reason"]
        )


class RequestCloseView(_RequestActionView):
    form_name = "close_form"
    success_message = gettext_lazy("Request closed.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_close(
            request=self.privacy_request,
            actor=actor,
            outcome=form.cleaned_data["outcome"],
            reason=form.cleaned_data["reason"],
            open_vendor_tasks_reason=form.cleaned_data["open_vendor_tasks_reason"],
        )


class RequestTransitionView(_RequestActionView):
    form_name = "transition_form"
    success_message = gettext_lazy("Status changed.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_transition(
            request=self.privacy_request,
            to_status=form.cleaned_data["to_status"],
            actor=actor,
            reason=form.cleaned_data["reason"],
        )


class RequestDuplicateView(_RequestActionView):
    form_name = "duplicate_form"
    success_message = gettext_lazy("Request closed as a duplicate.")

    def perform(self, form: forms.Form, actor: User) -> None:
        try:
            original = request_get_by_reference(
                organization=self.organization, reference=form.cleaned_data["original"]
            )
        except PrivacyRequest.DoesNotExist:
            raise RequestActionRefused(
                _("No request of this organization has that reference.")
            ) from None
        request_mark_duplicate(request=self.privacy_request, actor=actor, original=original)


class RequestMessageView(_RequestActionView):
    form_name = "message_form"
    success_message = gettext_lazy("Message added.")

    def perform(self, form: forms.Form, actor: User) -> None:
        request_message_add(
            request=self.privacy_request,
            actor=actor,
            direction=form.cleaned_data["direction"],
            body=form.cleaned_data["body"],
        )


class RequestAssignView(_RequestActionView):
    # staff may take a request; the service checks who may be given what (assignment_allowed)
    permission = Permission.REQUESTS_ASSIGN_SELF
    form_name = "assign_form"
    success_message = gettext_lazy("Assignment saved.")

    def make_form(self) -> forms.Form:
        return self.assign_form(self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> None:
        assignee_id = form.cleaned_data["assignee"]
        assignee = User.objects.filter(pk=assignee_id).first() if assignee_id else None
        request_assign(
            request=self.privacy_request,
            assignee=assignee,
            actor=actor,
            actor_role=self.membership.role,
        )


class RequestIntakeView(OrganizationView, FormView):
    """Staff enter a phone, mail or in-person request, with how identity was checked."""

    permission = Permission.REQUESTS_WORK
    template_name = "privacy_requests/request_intake.html"
    form_class = request_forms.IntakeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "time_zone": self.organization.time_zone}

    def form_valid(self, form: request_forms.IntakeForm) -> HttpResponse:
        data = form.cleaned_data
        birth_date = data["subject_birth_date"]
        try:
            created = request_receive(
                organization=self.organization,
                request_type=data["request_type"],
                channel=data["channel"],
                relationship=data["relationship"],
                requester_name=data["requester_name"],
                requester_email=data["requester_email"],
                requester_phone=data["requester_phone"],
                requester_address=data["requester_address"],
                subject_name=data["subject_name"],
                subject_school=data["subject_school"],
                subject_birth_date=birth_date.isoformat() if birth_date else "",
                details=data["details"],
                received_at=data["received_at"],
                actor=_acting_user(self.request),
                verification_method=data["verification_method"],
                verification_evidence=data["verification_evidence"],
            )
        except DeadlineError:
            form.add_error(
                "request_type",
                _("None of the organization's deadline rules covers this type of request."),
            )
            return self.form_invalid(form)
        except RequestActionRefused as refusal:
            field = "received_at" if refusal.code == "received_at" else "verification_method"
            form.add_error(field, refusal.messages[0])
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Request %(reference)s recorded.") % {"reference": created.reference},
        )
        return redirect(
            "accounts:request_detail", org_slug=self.organization.slug, request_id=created.pk
        )


# --- the request page: routing and the review of flagged dates (privacy_requests.routing) ------


def request_page_context(
    *, organization: Organization, privacy_request: PrivacyRequest, context: dict[str, Any]
) -> dict[str, Any]:
    """What the routing and review panel of the request page needs (no query unless the
    request is a platform request staff may route, or its dates are flagged)."""
    allowed = context["allowed"]
    extra: dict[str, Any] = {}
    routable = (
        organization.kind == Organization.Kind.PLATFORM
        and privacy_request.is_open
        and Permission.REQUESTS_WORK.value in allowed
    )
    if routable and "route_form" not in context:
        extra["route_form"] = request_forms.RouteForm(targets=route_targets())
    extra["can_route"] = routable
    if privacy_request.deadline_snapshot_stale_since is not None and privacy_request.is_open:
        extra["deadline_review"] = request_deadline_review(
            organization=organization, request=privacy_request
        )
        if "review_form" not in context:
            extra["review_form"] = request_forms.DeadlineReviewForm()
        extra["can_review_deadlines"] = Permission.DEADLINE_RULES_MANAGE.value in allowed
    return extra


class RequestRouteView(_RequestActionView):
    """POST: route a platform organization's request to the organization that holds the data."""

    form_name = "route_form"

    def make_form(self) -> forms.Form:
        return request_forms.RouteForm(self.request.POST, targets=route_targets())

    def perform(self, form: forms.Form, actor: User) -> None:
        target = form.cleaned_data["to_organization"]
        copy = request_route(
            request=self.privacy_request,
            to_organization=target,
            actor=actor,
            note=form.cleaned_data["note"],
        )
        message = _("Request routed to %(organization)s as %(reference)s.") % {
            "organization": target.name,
            "reference": copy.reference,
        }
        self.success_message = message  # type: ignore[misc]  # it names the new reference


class RequestDeadlinesReviewView(_RequestActionView):
    """POST: apply the recomputed dates of a flagged request, or keep the originals."""

    permission = Permission.DEADLINE_RULES_MANAGE
    form_name = "review_form"
    success_message = gettext_lazy("Dates reviewed.")

    def make_form(self) -> forms.Form:
        return request_forms.DeadlineReviewForm(self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> None:
        request_deadlines_review(
            request=self.privacy_request, actor=actor, decision=form.cleaned_data["decision"]
        )
