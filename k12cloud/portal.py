"""The base class of every organization page in the portal (`/o/<org_slug>/...`).

It resolves the organization from the URL, checks the user's active membership and the role's
permission (accounts.permissions), and runs the view, template rendering included, inside
`tenant_context(organization)`. Subclasses declare `permission` and cannot override
`dispatch`, so none can skip the checks.

Outcomes: anonymous → sign-in redirect; unknown organization or not a member → 404 (the same
answer, so slugs cannot be probed); member whose role lacks the permission → 403.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ClassVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.translation import gettext
from django.views import View

from accounts.models import Membership, Organization
from accounts.permissions import Permission, role_allows
from accounts.security import allowlist
from accounts.selectors import membership_list_for_user
from k12cloud import tenancy
from k12cloud.tenancy import tenant_context, user_context


def memberships_of(request: HttpRequest) -> list[Membership]:
    """The signed-in user's active memberships (with organizations), loaded once per request.

    Both the membership check and the header's organization switcher read it.
    """
    cached: list[Membership] | None = getattr(request, "_k12cloud_memberships", None)
    if cached is None:
        user_id: int = request.user.pk  # type: ignore[assignment]  # callers require sign-in
        # The request that signs the user in began anonymous: its context carries no user yet.
        signed_in_now = tenancy.current().user_id != user_id
        with user_context(user_id) if signed_in_now else nullcontext():
            cached = list(membership_list_for_user(user_id=user_id))
        request._k12cloud_memberships = cached  # type: ignore[attr-defined]
    return cached


def resolve_membership(
    request: HttpRequest, org_slug: str, *, terminated_too: bool = False
) -> tuple[Organization, Membership]:
    """The organization named by the URL and the user's active membership in it, or 404.

    An unknown slug and an organization the user does not belong to get the same answer.
    `terminated_too`: a terminated organization's members are found as well (the pages its
    admins keep until de-identification: the full export, exports/).
    """
    for membership in memberships_of(request):
        if membership.organization.slug == org_slug:
            return membership.organization, membership
    if terminated_too:
        user_id: int = request.user.pk  # type: ignore[assignment]
        signed_in_now = tenancy.current().user_id != user_id
        with user_context(user_id) if signed_in_now else nullcontext():
            found = (
                Membership.objects.of_user(user_id)
                .filter(
                    is_active=True,
                    organization__slug=org_slug,
                    organization__status=Organization.Status.TERMINATED,
                )
                .select_related("organization")
                .first()
            )
        if found is not None:
            return found.organization, found
    raise Http404("No such organization.")


class OrganizationView(View):
    permission: ClassVar[Permission | None] = None
    # True where even the page's existence is not the role's business (billing): a refused
    # role gets 404, as for a page that is not there, instead of 403
    refused_as_not_found: ClassVar[bool] = False
    # True for the few pages a terminated organization's members keep (exports/)
    serves_terminated: ClassVar[bool] = False
    organization: Organization
    membership: Membership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "dispatch" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not override dispatch(): it holds the checks.")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.permission is None:
            raise TypeError(f"{type(self).__name__} declares no permission.")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.organization, self.membership = resolve_membership(
            request, kwargs["org_slug"], terminated_too=self.serves_terminated
        )
        # answered, not raised: the refusal's audit event must not roll back
        refusal = allowlist.refusal_for(request, self.organization, self.membership)
        if refusal is not None:
            return refusal
        if not role_allows(self.membership.role, self.permission):
            if self.refused_as_not_found:
                raise Http404("No such page.")
            raise PermissionDenied(gettext("Your role does not allow this page."))
        with tenant_context(self.organization):
            response = super().dispatch(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if render is not None:
                render()
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(
            organization=self.organization,
            membership=self.membership,
            # permission names the member's role allows, for navigation and buttons:
            # {% if "members.manage" in allowed %}
            allowed=frozenset(p.value for p in Permission if role_allows(self.membership.role, p)),
        )
        return context
