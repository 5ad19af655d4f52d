"""The privacy contact page: where requesters' replies go (privacy_requests.contact)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView

from accounts.models import User
from accounts.permissions import Permission
from k12cloud.portal import OrganizationView
from privacy_requests.contact import organization_privacy_contact_set
from privacy_requests.forms import PrivacyContactForm


class PrivacyContactView(OrganizationView, FormView):
    """GET: the current contact and the form. POST: set or clear it (audited)."""

    permission = Permission.PRIVACY_CONTACT_MANAGE
    template_name = "privacy_requests/privacy_contact.html"
    form_class = PrivacyContactForm

    def get_initial(self) -> dict[str, Any]:
        return {"email": self.organization.privacy_contact_email}

    def form_valid(self, form: PrivacyContactForm) -> HttpResponse:
        actor = self.request.user
        assert isinstance(actor, User)
        changed = organization_privacy_contact_set(
            organization=self.organization, actor=actor, email=form.cleaned_data["email"]
        )
        if changed:
            messages.success(self.request, _("The privacy contact is saved."))
        else:
            messages.info(self.request, _("Nothing changed."))
        return redirect("accounts:privacy_contact", org_slug=self.organization.slug)
