"""The deadline rule settings page (`/o/<slug>/settings/deadlines/`).

For org admins and privacy officers: which jurisdiction rules apply, contract rules, closures.
Each change is its own POST-only view calling one service (privacy_requests.rules.services,
audited there); bad input re-renders the page with an error summary linked to the field, and
nothing is lost.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import Organization, User
from accounts.permissions import Permission
from k12cloud.portal import OrganizationView
from privacy_requests.rules.forms import (
    ClosureAddForm,
    ClosureRemoveForm,
    ContractRuleForm,
    RuleSelectionForm,
)
from privacy_requests.rules.models import (
    ContractRule,
    OrganizationClosure,
    OrganizationRuleSelection,
)
from privacy_requests.rules.names import rule_choices
from privacy_requests.rules.selectors import jurisdiction_rule_book, organization_contract_rules
from privacy_requests.rules.services import (
    contract_rule_save,
    deadline_rules_default_for,
    organization_closure_add,
    organization_closure_remove,
    organization_rule_selection_set,
    rule_selectable,
)


def _rule_choices(organization: Organization) -> list[tuple[str, str]]:
    """The rules the organization may choose, each by its plain name and period (one query).

    k-12.cloud's own privacy policy binds the platform organization only: it is not offered
    to districts and vendors (the service refuses it too)."""
    book = jurisdiction_rule_book()
    return [
        (rule_id, label)
        for rule_id, label in rule_choices(book)
        if rule_selectable(organization, rule_id)
    ]


class DeadlineRulesView(OrganizationView, TemplateView):
    """The settings page: rule selection, contract rules, closures."""

    permission = Permission.DEADLINE_RULES_MANAGE
    template_name = "privacy_requests/rules/settings.html"

    def render_page(self, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(**kwargs))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        org = self.organization
        stored = list(
            OrganizationRuleSelection.objects.for_organization(org).values_list(
                "rule_id", flat=True
            )
        )
        selected = stored or list(deadline_rules_default_for(org))
        contracts = organization_contract_rules(organization=org)
        if "rules_form" not in context:
            context["rules_form"] = RuleSelectionForm(
                rules=_rule_choices(org), initial={"rule_ids": selected}
            )
        if "contract_form" not in context:
            editing = next((c for c in contracts if c.slug == self.request.GET.get("edit")), None)
            context["contract_form"] = ContractRuleForm(initial=_contract_initial(editing))
            context["editing"] = editing
        if "closure_form" not in context:
            context["closure_form"] = ClosureAddForm()
        context.update(
            using_defaults=not stored,
            selected=selected,
            contracts=contracts,
            closures=list(OrganizationClosure.objects.for_organization(org).order_by("date")),
        )
        return context


def _contract_initial(rule: ContractRule | None) -> dict[str, Any]:
    if rule is None:
        return {"enabled": True}
    return {
        name: getattr(rule, name)
        for name in (
            "slug",
            "name",
            "source",
            "request_types",
            "acknowledge_amount",
            "acknowledge_unit",
            "respond_amount",
            "respond_unit",
            "enabled",
        )
    }


class _SettingsAction(DeadlineRulesView):
    """POST one form of the settings page; success redirects, bad input re-renders."""

    http_method_names = ["post"]
    form_name: ClassVar[str]
    anchor: ClassVar[str]

    def make_form(self) -> forms.Form:
        raise NotImplementedError

    def perform(self, form: forms.Form, actor: User) -> str:
        """Call the service; returns the success message. Raise ValidationError for bad input."""
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.make_form()
        if form.is_valid():
            try:
                message = self.perform(form, request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                _attach(form, error)
            else:
                messages.success(request, message)
                return redirect("accounts:deadline_rules", org_slug=self.organization.slug)
        return self.render_page(
            **{self.form_name: form},
            action_error=_("The change was not saved. Correct the marked fields."),
            action_error_target=self.anchor,
        )


def _attach(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class RuleSelectionView(_SettingsAction):
    form_name = "rules_form"
    anchor = "rules_form"

    def make_form(self) -> forms.Form:
        return RuleSelectionForm(self.request.POST, rules=_rule_choices(self.organization))

    def perform(self, form: forms.Form, actor: User) -> str:
        try:
            organization_rule_selection_set(
                organization=self.organization, actor=actor, rule_ids=form.cleaned_data["rule_ids"]
            )
        except ValidationError as error:
            raise ValidationError({"rule_ids": error.messages}) from None
        return _("The rules that apply were saved.")


class ContractRuleSaveView(_SettingsAction):
    form_name = "contract_form"
    anchor = "contract_form"

    def make_form(self) -> forms.Form:
        return ContractRuleForm(self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> str:
        data = form.cleaned_data
        rule = (
            ContractRule.objects.for_organization(self.organization)
            .filter(slug=data["slug"])
            .first()
        ) or ContractRule(organization=self.organization, slug=data["slug"])
        for name, value in data.items():
            setattr(rule, name, value)
        rule.acknowledge_unit = data["acknowledge_unit"] or ""
        contract_rule_save(organization=self.organization, actor=actor, rule=rule)
        return _("Contract rule “%(name)s” saved.") % {"name": rule.name}


class ClosureAddView(_SettingsAction):
    form_name = "closure_form"
    anchor = "closure_form"

    def make_form(self) -> forms.Form:
        return ClosureAddForm(self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> str:
        day = form.cleaned_data["date"]
        organization_closure_add(
            organization=self.organization,
            actor=actor,
            day=day,
            reason=form.cleaned_data["reason"],
        )
        return _("%(day)s is recorded as closed.") % {"day": day.isoformat()}


class ClosureRemoveView(_SettingsAction):
    form_name = "closure_remove_form"
    anchor = "closures-heading"

    def make_form(self) -> forms.Form:
        return ClosureRemoveForm(self.request.POST)

    def perform(self, form: forms.Form, actor: User) -> str:
        day = form.cleaned_data["date"]
        organization_closure_remove(organization=self.organization, actor=actor, day=day)
        return _("%(day)s is no longer recorded as closed.") % {"day": day.isoformat()}
