"""Member management and invitations: the organization admins' pages and actions.

Each action is its own small POST-only view with its own permission, so the permission table
(accounts/tests/test_permissions.py) can list each one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from accounts.forms_members import InvitationForm, RoleChangeForm
from accounts.models import Invitation, Membership, User
from accounts.permissions import Permission, Role
from accounts.selectors import invitation_list_open
from accounts.services.members import (
    MemberError,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
)
from accounts.views import MemberDetailView
from k12cloud.portal import OrganizationView


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # OrganizationView requires sign-in
    return user


class InvitationListView(OrganizationView, TemplateView):
    """Open invitations (pending and expired), each with a revoke button."""

    permission = Permission.MEMBERS_MANAGE
    template_name = "accounts/members/invitation_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitations"] = list(invitation_list_open(organization=self.organization))
        return context


class InvitationCreateView(OrganizationView, FormView):
    permission = Permission.MEMBERS_MANAGE
    template_name = "accounts/members/invitation_form.html"
    form_class = InvitationForm

    def form_valid(self, form: InvitationForm) -> HttpResponse:
        request = self.request
        try:
            invitation = invitation_create(
                organization=self.organization,
                actor=_acting_user(request),
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                accept_url_for=lambda token: request.build_absolute_uri(
                    reverse("invitation_accept", kwargs={"token": token})
                ),
            )
        except MemberError as error:
            form.add_error(error.field, error.message)
            return self.form_invalid(form)
        messages.success(
            request,
            _("Invitation sent to %(email)s. The link works once, for 7 days.")
            % {"email": invitation.email},
        )
        return redirect("accounts:invitation_list", org_slug=self.organization.slug)


class InvitationRevokeView(OrganizationView):
    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_slug: str, invitation_id: int) -> HttpResponse:
        try:
            invitation_revoke(
                organization=self.organization,
                actor=_acting_user(request),
                invitation_id=invitation_id,
            )
        except Invitation.DoesNotExist:
            raise Http404("No such invitation.") from None
        except MemberError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Invitation revoked: its link no longer works."))
        return redirect("accounts:invitation_list", org_slug=org_slug)


class MemberRoleChangeView(MemberDetailView):
    """POST: change a member's role. Bad input re-renders the member page with the error."""

    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
        self.object = self.get_object()
        form = RoleChangeForm(request.POST)
        if form.is_valid():
            try:
                membership_change_role(
                    organization=self.organization,
                    actor=_acting_user(request),
                    membership_id=membership_id,
                    role=Role(form.cleaned_data["role"]),
                )
            except MemberError as error:
                form.add_error(error.field, error.message)
            else:
                messages.success(request, _("Role changed."))
                return _to_member(org_slug, membership_id)
        return self.render_to_response(self.get_context_data(object=self.object, role_form=form))


class _MemberStatusView(OrganizationView):
    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]
    success_message = ""

    def change(self, *, membership_id: int) -> Membership:
        raise NotImplementedError

    def post(self, request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
        try:
            self.change(membership_id=membership_id)
        except Membership.DoesNotExist:
            raise Http404("No such member.") from None
        except MemberError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, self.success_message)
        return _to_member(org_slug, membership_id)


class MemberDeactivateView(_MemberStatusView):
    def change(self, *, membership_id: int) -> Membership:
        self.success_message = _(
            "Member deactivated. Their next request to this organization will be refused."
        )
        return membership_deactivate(
            organization=self.organization,
            actor=_acting_user(self.request),
            membership_id=membership_id,
        )


class MemberReactivateView(_MemberStatusView):
    def change(self, *, membership_id: int) -> Membership:
        self.success_message = _("Member reactivated.")
        return membership_reactivate(
            organization=self.organization,
            actor=_acting_user(self.request),
            membership_id=membership_id,
        )


def _to_member(org_slug: str, membership_id: int) -> HttpResponseRedirect:
    return redirect("accounts:member_detail", org_slug=org_slug, membership_id=membership_id)
