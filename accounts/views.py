"""Portal pages of the accounts app: home, the organization dashboard and members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView

from accounts.api_keys import api_key_list
from accounts.forms_members import RoleChangeForm
from accounts.models import Membership
from accounts.permissions import Permission, Role, role_allows
from accounts.selectors import member_get, member_list, membership_list
from accounts.sso import sso_connection_get
from k12cloud.dashboard import dashboard_panels
from k12cloud.portal import OrganizationView, memberships_of


def home(request: HttpRequest) -> HttpResponse:
    """`/`: sign-in for visitors; the user's organization, or a chooser, for members."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    memberships = memberships_of(request)
    if len(memberships) == 1:
        return redirect("accounts:dashboard", org_slug=memberships[0].organization.slug)
    return render(request, "accounts/home.html", {"memberships": memberships})


class DashboardView(OrganizationView, TemplateView):
    """The landing page of an organization, with panels chosen by the member's role."""

    permission = Permission.DASHBOARD_VIEW
    template_name = "accounts/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        role = Role(self.membership.role)
        context["role"] = role
        context["can_view_members"] = role_allows(role, Permission.MEMBERS_VIEW)
        if context["can_view_members"]:
            counts = (
                membership_list(organization=self.organization)
                .filter(is_active=True)
                .order_by()
                .values("role")
                .annotate(n=Count("pk"))
            )
            by_role = {row["role"]: row["n"] for row in counts}
            context["members_by_role"] = [(r.label, by_role.get(r.value, 0)) for r in Role]
        context["panels"] = dashboard_panels(
            organization=self.organization, membership=self.membership
        )
        return context


class MemberListView(OrganizationView, ListView):
    permission = Permission.MEMBERS_VIEW
    template_name = "accounts/member_list.html"
    context_object_name = "memberships"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Membership]:
        # with `has_mfa`, and the user for name, email and last sign-in: still one page query
        return member_list(organization=self.organization)


class MemberDetailView(OrganizationView, DetailView):
    """One member: role, status, last sign-in, MFA; admins also get the management forms."""

    permission = Permission.MEMBERS_VIEW
    template_name = "accounts/member_detail.html"
    context_object_name = "member"

    def get_object(self, queryset: QuerySet[Membership] | None = None) -> Membership:
        member = member_get(
            organization=self.organization, membership_id=self.kwargs["membership_id"]
        )
        if member is None:
            raise Http404("No such member.")
        return member

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("role_form", RoleChangeForm(initial={"role": self.object.role}))
        return super().get_context_data(**kwargs)


class ProfileView(LoginRequiredMixin, TemplateView):
    """The signed-in user's own account page (not tied to an organization)."""

    template_name = "accounts/profile.html"


class SecuritySettingsView(OrganizationView, TemplateView):
    """One page that says how the organization is protected, linking to each setting."""

    permission = Permission.SECURITY_MANAGE
    template_name = "accounts/security_settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_connection"] = sso_connection_get(organization=self.organization)
        if role_allows(self.membership.role, Permission.API_KEYS_MANAGE):
            now = timezone.now()
            context["active_api_keys"] = (
                api_key_list(organization=self.organization)
                .filter(revoked_at__isnull=True)
                .exclude(expires_at__lte=now)
                .count()
            )
        return context
