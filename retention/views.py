"""The organization admins' retention page: schedules, holds, runs and certificates."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.portal import OrganizationView
from retention.forms import LegalHoldForm, RetentionRuleForm
from retention.models import DeidentificationCertificate
from retention.selectors import legal_hold_list, retention_run_list, schedule_list
from retention.services import legal_hold_place, legal_hold_release, rule_set
from retention.termination import deidentification_due_on


class RetentionView(OrganizationView, TemplateView):
    permission = Permission.RETENTION_MANAGE
    template_name = "retention/retention.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        organization = self.organization
        context.update(
            schedules=schedule_list(organization=organization),
            holds=list(
                legal_hold_list(organization=organization).only(
                    "scope", "category", "ends_on", "placed_at", "released_at", "organization_id"
                )
            ),
            runs=list(retention_run_list(organization=organization)),
            certificates=list(
                DeidentificationCertificate.objects.for_organization(organization).order_by(
                    "-issued_at"
                )
            ),
            due_on=deidentification_due_on(organization),
            form=kwargs.get("form") or LegalHoldForm(),
            rule_form=kwargs.get("rule_form") or RetentionRuleForm(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)
        if request.POST.get("action") == "release":
            try:
                legal_hold_release(
                    organization=self.organization,
                    actor=user,
                    hold_id=int(request.POST.get("hold", "0") or 0),
                )
            except (ValidationError, ValueError):
                messages.error(request, _("No such legal hold."))
            else:
                messages.success(request, _("The legal hold was released."))
            return HttpResponseRedirect(self._url())
        if request.POST.get("action") == "rule":
            return self._rule(request, user)
        form = LegalHoldForm(request.POST)
        if form.is_valid():
            try:
                legal_hold_place(
                    organization=self.organization,
                    actor=user,
                    scope=form.cleaned_data["scope"],
                    category=form.cleaned_data["category"] or "",
                    reason=form.cleaned_data["reason"],
                    ends_on=form.cleaned_data["ends_on"],
                )
            except ValidationError as refused:
                for field, errors in refused.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The legal hold was placed."))
                return HttpResponseRedirect(self._url())
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def _rule(self, request: HttpRequest, user: User) -> HttpResponse:
        rule_form = RetentionRuleForm(request.POST)
        if rule_form.is_valid():
            try:
                rule_set(
                    organization=self.organization,
                    actor=user,
                    category=rule_form.cleaned_data["category"],
                    days=rule_form.cleaned_data["days"],
                )
            except ValidationError as refused:
                for field, errors in refused.message_dict.items():
                    rule_form.add_error(field if field in rule_form.fields else None, errors)
            else:
                messages.success(request, _("The retention period was saved."))
                return HttpResponseRedirect(self._url())
        return self.render_to_response(self.get_context_data(rule_form=rule_form), status=400)

    def _url(self) -> str:
        return reverse("accounts:retention", kwargs={"org_slug": self.organization.slug})
