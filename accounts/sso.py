"""Single sign-on with each organization's own identity provider (Google Workspace, Entra ID).

The flow: /accounts/sso/ asks for the work email, finds the organization's connection by the
address's domain, remembers the connection in the session and starts allauth's provider login.
allauth then runs the OAuth exchange with the OAuth client that `SsoAdapter` builds from that
connection (no global SocialApp rows). `SsoAdapter.pre_social_login` admits only an existing,
active user with an active membership in the connection's organization, whose address the
identity provider vouches for at the allowed domain; the sign-in then ends in Django's
ordinary login, so the second-factor policy (accounts.mfa.middleware) applies as after a
password. Nobody is signed up, and no SocialAccount row (which would copy the provider's
profile) is stored: the member is found by email address at every sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, SsoConnection, User, validate_domain
from audit.actions import Action
from audit.services import record
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

SESSION_KEY = "k12cloud_sso_connection"
# fields whose change is audited (by name only: never the values)
AUDITED_FIELDS = (
    "provider",
    "client_id",
    "client_secret",
    "tenant_id",
    "allowed_domain",
    "enabled",
)


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


# --- Selectors --------------------------------------------------------------------------------


def sso_connection_for_domain(*, domain: str) -> SsoConnection | None:
    """The enabled connection for an email domain, across organizations (sign-in page)."""
    if not domain:
        return None
    with unscoped_all_tenants(reason="find the single sign-on connection for an email domain"):
        return (
            SsoConnection.objects.select_related("organization")
            .filter(allowed_domain=domain, enabled=True, organization__status="active")
            .first()
        )


def sso_connection_by_id(*, connection_id: int) -> SsoConnection | None:
    """The connection a sign-in in progress uses (its id is in the visitor's session)."""
    with unscoped_all_tenants(reason="load the single sign-on connection of a sign-in"):
        return (
            SsoConnection.objects.select_related("organization")
            .filter(pk=connection_id, enabled=True)
            .first()
        )


def sso_connection_get(*, organization: Organization) -> SsoConnection | None:
    return SsoConnection.objects.for_organization(organization).first()


def _domain_taken(connection: SsoConnection) -> bool:
    with unscoped_all_tenants(reason="an email domain signs in to one organization only"):
        return (
            SsoConnection.objects.filter(allowed_domain=connection.allowed_domain)
            .exclude(organization_id=connection.organization_id)
            .exists()
        )


# --- Services ---------------------------------------------------------------------------------


def sso_connection_save(
    *, organization: Organization, user: User, values: Mapping[str, Any]
) -> SsoConnection:
    """Create or update the organization's connection; audits the names of changed fields.

    An empty `client_secret` keeps the stored one.
    """
    with tenant_context(organization):
        connection = (
            SsoConnection.objects.for_organization(organization).select_for_update().first()
        )
        created = connection is None
        if connection is None:
            connection = SsoConnection(organization=organization)
        changed = []
        for field in AUDITED_FIELDS:
            value = values.get(field)
            if field == "client_secret" and not value:
                continue
            if field == "tenant_id" and values.get("provider") != SsoConnection.Provider.MICROSOFT:
                value = ""
            if getattr(connection, field) != value:
                setattr(connection, field, value)
                changed.append(field)
        if not changed:
            return connection
        # the manager and row-level security show only this organization's connections, so
        # full_clean's uniqueness check cannot see another organization holding the domain
        connection.full_clean(exclude=["organization", "allowed_domain"])
        validate_domain(connection.allowed_domain)
        if _domain_taken(connection):
            raise ValidationError(
                {"allowed_domain": _("Another organization signs in with this domain.")}
            )
        connection.save()
        record(
            Action.SSO_CONNECTION_CHANGED,
            organization=organization,
            target=connection,
            changes={
                "created": created,
                "fields": changed,
                "provider": connection.provider,
                "enabled": connection.enabled,
            },
        )
    return connection


# --- The allauth adapter ----------------------------------------------------------------------


def _app_for(connection: SsoConnection) -> SocialApp:
    settings: dict[str, str] = {}
    if connection.provider == SsoConnection.Provider.MICROSOFT:
        settings["tenant"] = connection.tenant_id
    # never saved: built per request from the organization's connection
    return SocialApp(
        provider=connection.provider,
        name=connection.organization.name,
        client_id=connection.client_id,
        secret=connection.client_secret,
        settings=settings,
    )


def _refuse(request: HttpRequest, message: str, reason: str) -> ImmediateHttpResponse:
    # a platform event: the visitor is nobody yet; the reason is a code, never the address
    record(Action.SIGN_IN_FAILED, changes={"method": "sso", "reason": reason})
    response = render(request, "accounts/sso/refused.html", {"message": message}, status=403)
    return ImmediateHttpResponse(response)


class SsoAdapter(DefaultSocialAccountAdapter):
    def _connection(self, request: HttpRequest | None) -> SsoConnection | None:
        if request is None or not hasattr(request, "session"):
            return None
        connection_id = request.session.get(SESSION_KEY)
        if not isinstance(connection_id, int):
            return None
        cached: SsoConnection | None = getattr(request, "_k12cloud_sso_connection", None)
        if cached is None or cached.pk != connection_id:
            cached = sso_connection_by_id(connection_id=connection_id)
            request._k12cloud_sso_connection = cached  # type: ignore[attr-defined]
        return cached

    def list_apps(
        self, request: HttpRequest, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        """Only the OAuth client of the sign-in in progress, never global SocialApp rows."""
        connection = self._connection(request)
        if connection is None:
            return []
        app = _app_for(connection)
        if (provider and provider != app.provider) or (client_id and client_id != app.client_id):
            return []
        return [app]

    def get_app(
        self, request: HttpRequest, provider: str, client_id: str | None = None
    ) -> SocialApp:
        apps = self.list_apps(request, provider=provider, client_id=client_id)
        if not apps:
            # a provider URL opened without starting at /accounts/sso/
            raise Http404("Start single sign-on from the sign-in page.")
        return apps[0]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False  # members are invited by their organization's admin

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        connection = self._connection(request)
        if connection is None or sociallogin.account.provider != connection.provider:
            raise _refuse(request, _("Start single sign-on from the sign-in page."), "no_flow")
        if sociallogin.state.get("process") != AuthProcess.LOGIN:
            raise _refuse(
                request, _("Single sign-on can only be used to sign in."), "not_a_sign_in"
            )
        data = sociallogin.account.extra_data
        if connection.provider == SsoConnection.Provider.GOOGLE:
            email = str(data.get("email") or "")
            # a Workspace account of the organization's domain, with a verified address
            vouched = data.get("email_verified") is True and (
                str(data.get("hd") or "").lower() == connection.allowed_domain
            )
        else:
            # The organization's tenant issued the token (its tenant id is in the token URL),
            # so the directory vouches for its own accounts' addresses.
            email = str(data.get("mail") or data.get("userPrincipalName") or "")
            vouched = True
        if not vouched or email_domain(email) != connection.allowed_domain:
            raise _refuse(
                request,
                _(
                    "Your %(provider)s account is not an account of %(domain)s, the domain "
                    "this organization signs in with. Choose your work account, or sign in "
                    "with your password."
                )
                % {
                    "provider": connection.get_provider_display(),
                    "domain": connection.allowed_domain,
                },
                "wrong_domain",
            )
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        member = False
        if user is not None:
            with tenant_context(connection.organization):
                member = Membership.objects.filter(user=user, is_active=True).exists()
        if user is None or not member:
            raise _refuse(
                request,
                _(
                    "%(organization)s has no active member with this address. Ask your "
                    "organization's administrator for an invitation."
                )
                % {"organization": connection.organization.name},
                "not_a_member",
            )
        if sociallogin.is_existing and sociallogin.user != user:
            raise _refuse(request, _("This account belongs to someone else."), "other_user")
        # An existing user: allauth signs them in with Django's login (no signup, no row).
        sociallogin.user = user
