"""Pages: the organization's IP allowlist and session policy, unlocking a member, and the
signed-in user's own sessions."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic.base import ContextMixin, TemplateResponseMixin, TemplateView

from accounts.models import User
from accounts.permissions import Permission
from accounts.security import services
from accounts.security.forms import IpAllowlistForm, SessionPolicyForm
from accounts.security.sessions import TRACKED, active_sessions, current_policy
from accounts.selectors import membership_get
from k12cloud.client_ip import client_address
from k12cloud.portal import OrganizationView


class IpAllowlistView(OrganizationView, TemplateResponseMixin, ContextMixin):
    permission = Permission.SECURITY_MANAGE
    template_name = "accounts/security/ip_allowlist.html"

    def _form(self, data: Any = None) -> IpAllowlistForm:
        initial = {
            "networks": "\n".join(self.organization.ip_allowlist),
            "scope": self.organization.ip_allowlist_scope,
        }
        return IpAllowlistForm(data, initial=initial, client_address=client_address(self.request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["client_ip"] = client_address(self.request)
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=self._form()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        user: User = request.user  # type: ignore[assignment]  # OrganizationView requires sign-in
        changed = services.organization_ip_allowlist_set(
            organization=self.organization,
            actor=user,
            networks=form.cleaned_data["networks"],
            scope=form.cleaned_data["scope"],
            confirmed_self_exclusion=form.excludes_self,
        )
        if not changed:
            messages.info(request, _("Nothing changed."))
        elif form.cleaned_data["networks"]:
            messages.success(request, _("The IP allowlist is saved and applies from now on."))
        else:
            messages.success(request, _("The IP allowlist is empty: every address is allowed."))
        return HttpResponseRedirect(
            reverse("accounts:ip_allowlist", kwargs={"org_slug": self.organization.slug})
        )


class SessionPolicyView(OrganizationView, TemplateResponseMixin, ContextMixin):
    permission = Permission.SECURITY_MANAGE
    template_name = "accounts/security/session_policy.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SessionPolicyForm(
            initial={
                "idle_minutes": self.organization.session_idle_timeout_minutes,
                "absolute_hours": self.organization.session_absolute_timeout_hours,
            }
        )
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SessionPolicyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        user: User = request.user  # type: ignore[assignment]
        changed = services.organization_session_policy_set(
            organization=self.organization,
            actor=user,
            idle_minutes=form.cleaned_data["idle_minutes"],
            absolute_hours=form.cleaned_data["absolute_hours"],
        )
        if changed:
            messages.success(
                request,
                _("The session limits are saved. Signed-in members get them within a minute."),
            )
        else:
            messages.info(request, _("Nothing changed."))
        return HttpResponseRedirect(
            reverse("accounts:session_policy", kwargs={"org_slug": self.organization.slug})
        )


class MemberUnlockView(OrganizationView):
    """POST only: lifts the member's sign-in lockout, back to the member's page."""

    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = membership_get(
            organization=self.organization, membership_id=kwargs["membership_id"]
        )
        if membership is None:
            raise Http404("No such member.")
        user: User = request.user  # type: ignore[assignment]
        cleared = services.member_unlock(
            organization=self.organization, actor=user, membership=membership
        )
        name = membership.user.full_name or membership.user.email
        if cleared:
            messages.success(request, _("%(name)s can sign in again.") % {"name": name})
        else:
            messages.info(request, _("%(name)s was not locked out.") % {"name": name})
        return HttpResponseRedirect(
            reverse(
                "accounts:member_detail",
                kwargs={"org_slug": self.organization.slug, "membership_id": membership.pk},
            )
        )


_BROWSERS = [
    ("Edge", r"Edg(?:e|A|iOS)?/"),
    ("Opera", r"OPR/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/|HeadlessChrome/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("Windows", r"Windows"),
    ("iOS", r"iPhone|iPad"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Android", r"Android"),
    ("Linux", r"Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """A short "Browser on system" label; never the raw string (it is long and unhelpful)."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


class SessionListView(LoginRequiredMixin, TemplateView):
    """`/accounts/sessions/`: where the user is signed in, and signing out elsewhere."""

    template_name = "accounts/security/sessions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user: User = self.request.user  # type: ignore[assignment]
        current = {self.request.session.session_key, self.request.session.get(TRACKED)}
        rows = list(active_sessions(user, current_policy(self.request)))
        context["sessions"] = [
            {
                "row": row,
                "browser": describe_user_agent(row.user_agent),
                "is_current": row.session_key in current,
            }
            for row in rows
        ]
        context["others"] = sum(1 for s in context["sessions"] if not s["is_current"])
        return context


class _SessionRevokeView(LoginRequiredMixin, View):
    http_method_names = ["post"]
    include_current = False

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        count = services.user_sessions_revoke(
            user=user, request=request, include_current=self.include_current
        )
        if self.include_current:
            request.user = AnonymousUser()
            messages.success(
                request,
                ngettext(
                    "You are signed out of %(count)d session.",
                    "You are signed out of all %(count)d sessions.",
                    count,
                )
                % {"count": count},
            )
            return redirect_to_login(reverse("home"))
        messages.success(
            request,
            ngettext(
                "You are signed out of %(count)d other session.",
                "You are signed out of %(count)d other sessions.",
                count,
            )
            % {"count": count},
        )
        return HttpResponseRedirect(reverse("session_list"))


class SessionRevokeOthersView(_SessionRevokeView):
    include_current = False


class SessionRevokeAllView(_SessionRevokeView):
    include_current = True
