"""The public invitation link: `/invitations/<token>/`.

Who opens the link decides what they see:

- unknown token: 404; accepted, revoked or expired: 410 (one page: ask an admin for a new one);
- no account for the invited address, nobody signed in: a form for name and password that
  creates the account (address verified: the link proves it), signs in, and opens the
  organization's dashboard;
- an account exists, nobody signed in: sign-in, then back here (`next=`);
- signed in as the invited address: a confirm button (POST) that adds the membership;
- signed in as anyone else: refused (403), with the way out (sign out, open the link again);
- the invited account's membership exists but is deactivated: refused (409); reactivation is
  an admin's decision, not the invitation's.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.forms_members import NewAccountForm
from accounts.models import Invitation, Membership, User
from accounts.selectors import invitation_for_token
from accounts.services.members import (
    InvitationUnusable,
    MemberError,
    NewAccount,
    invitation_accept,
    normalize_email,
)
from k12cloud.tenancy import tenant_context


def _unusable(request: HttpRequest, reason: str) -> HttpResponse:
    status = 404 if reason == "unknown" else 410
    return render(request, "accounts/invitations/unusable.html", {"reason": reason}, status=status)


def _reason(invitation: Invitation | None) -> str | None:
    if invitation is None:
        return "unknown"
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if timezone.now() >= invitation.expires_at:
        return "expired"
    return None


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    messages.success(
        request,
        _("Welcome to %(organization)s. You joined as %(role)s.")
        % {"organization": organization.name, "role": membership.get_role_display()},
    )
    return redirect("accounts:dashboard", org_slug=organization.slug)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_for_token(token=token)
    reason = _reason(invitation)
    if reason is not None:
        return _unusable(request, reason)
    assert invitation is not None
    organization = invitation.organization
    context: dict[str, object] = {"invitation": invitation, "inviting": organization}

    if request.user.is_authenticated:
        user = request.user
        assert isinstance(user, User)
        if normalize_email(user.email) != invitation.email:
            return render(request, "accounts/invitations/wrong_account.html", context, status=403)
        with tenant_context(organization):
            existing = Membership.objects.filter(user=user).first()
        if existing is not None:
            context["existing"] = existing
            return render(request, "accounts/invitations/blocked.html", context, status=409)
        if request.method == "POST":
            try:
                with tenant_context(organization):
                    membership = invitation_accept(
                        organization=organization, invitation_id=invitation.pk, user=user
                    )
            except InvitationUnusable as error:
                return _unusable(request, error.reason)
            except MemberError as error:
                context["error"] = error.message
                return render(request, "accounts/invitations/confirm.html", context, status=409)
            return _joined(request, membership)
        return render(request, "accounts/invitations/confirm.html", context)

    if User.objects.filter(email__iexact=invitation.email).exists():
        messages.info(
            request,
            _("Sign in to accept the invitation to %(organization)s.")
            % {"organization": organization.name},
        )
        return redirect_to_login(request.get_full_path())

    form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            with tenant_context(organization):
                membership = invitation_accept(
                    organization=organization,
                    invitation_id=invitation.pk,
                    user=None,
                    new_account=NewAccount(
                        full_name=form.cleaned_data["full_name"],
                        password=form.cleaned_data["password1"],
                    ),
                )
        except InvitationUnusable as error:
            return _unusable(request, error.reason)
        except MemberError as error:
            form.add_error(None, error.message)
        else:
            get_adapter(request).login(request, membership.user)
            return _joined(request, membership)
    context["form"] = form
    return render(request, "accounts/invitations/new_account.html", context)
