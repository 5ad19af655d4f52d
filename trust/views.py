"""Organization pages of the trust center (`/o/<org_slug>/trust/...`, in the accounts namespace).

- the DPA page: the version to accept, the organization's acceptances and their signed
  receipts, upcoming changes of every document and the objection form (TRUST_MANAGE: admins);
- dismissing a banner (every role, for themselves).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.client_ip import client_ip
from k12cloud.portal import OrganizationView
from trust.documents import render_markdown
from trust.models import DocumentKind
from trust.receipts import receipt_pdf
from trust.selectors import document_state, dpa_acceptance_get, dpa_acceptances, dpa_target
from trust.services import TrustActionRefused, banner_dismiss, dpa_accept, objection_record


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class AcceptForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    version_hash = forms.CharField(max_length=64, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=gettext_lazy("I have read this DPA and accept it on behalf of the organization.")
    )


class ObjectionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(
        label=gettext_lazy("Your objection"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )


class DpaView(OrganizationView, TemplateView):
    permission = Permission.TRUST_MANAGE
    template_name = "trust/dpa.html"

    def url(self) -> str:
        return reverse("accounts:trust_dpa", kwargs={"org_slug": self.organization.slug})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        target = dpa_target(now=now)
        acceptances = dpa_acceptances(organization=self.organization)
        accepted_ids = {a.version_id for a in acceptances}
        upcoming = [
            version for kind in DocumentKind for version in document_state(kind, now=now).upcoming
        ]
        dpa_all_upcoming = document_state(DocumentKind.DPA, now=now).upcoming
        dpa_upcoming = [
            v
            for v in dpa_all_upcoming
            if v.pk not in accepted_ids and (target is None or v.pk != target.pk)
        ]
        context.update(
            target=target,
            # an admin may accept an announced DPA version before it takes effect
            dpa_upcoming=dpa_upcoming,
            target_html=render_markdown(target.body) if target else "",
            target_accepted=target is not None and target.pk in accepted_ids,
            # the organization accepted the version in effect or one announced after it
            dpa_settled=target is not None
            and bool(accepted_ids & {target.pk, *(v.pk for v in dpa_all_upcoming)}),
            acceptances=acceptances,
            accept_form=kwargs.get("accept_form")
            or (
                AcceptForm(initial={"version": target.pk, "version_hash": target.content_hash})
                if target
                else None
            ),
            upcoming=upcoming,
            objection_form=kwargs.get("objection_form"),
            objection_version=kwargs.get("objection_version"),
        )
        return context


class DpaAcceptView(DpaView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = AcceptForm(request.POST)
        if form.is_valid():
            try:
                result = dpa_accept(
                    organization=self.organization,
                    actor=_user(request),
                    version_id=form.cleaned_data["version"],
                    version_hash=form.cleaned_data["version_hash"],
                    ip_address=client_ip(request),
                )
            except TrustActionRefused as refused:
                form.add_error(None, refused.messages)
            else:
                if result.created:
                    messages.success(
                        request,
                        _("Accepted: DPA version %(number)s. Your receipt is below.")
                        % {"number": result.acceptance.version.number},
                    )
                else:
                    messages.info(
                        request, _("Your organization had already accepted this version.")
                    )
                return HttpResponseRedirect(self.url())
        return self.render_to_response(self.get_context_data(accept_form=form), status=400)


class ObjectionView(DpaView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ObjectionForm(request.POST)
        if form.is_valid():
            try:
                objection_record(
                    organization=self.organization,
                    actor=_user(request),
                    version_id=form.cleaned_data["version"],
                    text=form.cleaned_data["text"],
                )
            except TrustActionRefused as refused:
                for field, errors in refused.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Your objection was recorded and sent to k-12.cloud."))
                return HttpResponseRedirect(self.url())
        return self.render_to_response(
            self.get_context_data(
                objection_form=form, objection_version=form.data.get("version", "")
            ),
            status=400,
        )


class ReceiptView(OrganizationView, TemplateView):
    permission = Permission.TRUST_MANAGE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        acceptance = dpa_acceptance_get(
            organization=self.organization, acceptance_id=kwargs["acceptance_id"]
        )
        if acceptance is None:
            raise Http404("No such acceptance.")
        accepted_by = acceptance.user.email if acceptance.user else "a former member"
        body = receipt_pdf(acceptance, accepted_by=accepted_by)
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{acceptance.receipt_number}.pdf"'
        return response


class BannerDismissView(OrganizationView, TemplateView):
    permission = Permission.DASHBOARD_VIEW
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.POST.get("key", "")
        try:
            banner_dismiss(organization=self.organization, user=_user(request), key=key)
        except TrustActionRefused:
            return HttpResponse(_("Unknown banner."), status=400, content_type="text/plain")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("accounts:dashboard", kwargs={"org_slug": self.organization.slug})
        return HttpResponseRedirect(target)
