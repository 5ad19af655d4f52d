"""Organization pages for integrations: API keys and the single sign-on connection."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from accounts.api_keys import api_key_create, api_key_get, api_key_list, api_key_revoke
from accounts.forms_integrations import ApiKeyCreateForm, SsoConnectionForm
from accounts.models import ApiKey, SsoConnection, User
from accounts.permissions import Permission, Role
from accounts.sso import sso_connection_get, sso_connection_save
from k12cloud.portal import OrganizationView

# the last few creation forms this session sent, so a resubmission creates no second key
USED_SUBMISSIONS_KEY = "api_key_submissions"


class ApiKeyListView(OrganizationView, TemplateResponseMixin, ContextMixin):
    """The organization's API keys and the form that creates one.

    A new key's token is rendered once, in the response to the POST that created it; it is
    never stored (only its hash is) nor put in the session, so reloading cannot show it again.
    """

    permission = Permission.API_KEYS_MANAGE
    template_name = "accounts/integrations/api_keys.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ApiKeyCreateForm())
        context["api_keys"] = list(api_key_list(organization=self.organization))
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ApiKeyCreateForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        submission = str(form.cleaned_data["submission"] or "")
        used: list[str] = request.session.get(USED_SUBMISSIONS_KEY, [])
        if submission and submission in used:
            # the same form again (a reload of the POST, a double click): no second key
            messages.info(
                request,
                _(
                    "That form was already sent, and its key was created then. A key's token "
                    "is shown only once: if you did not copy it, revoke that key and create "
                    "a new one."
                ),
            )
            return HttpResponseRedirect(
                reverse("accounts:api_key_list", kwargs={"org_slug": self.organization.slug})
            )
        if submission:
            request.session[USED_SUBMISSIONS_KEY] = [*used[-19:], submission]
        user: User = request.user  # type: ignore[assignment]  # OrganizationView requires sign-in
        created = api_key_create(
            organization=self.organization,
            user=user,
            name=form.cleaned_data["name"],
            role=Role(form.cleaned_data["role"]),
            expires_at=form.expires_at(),
        )
        response = self.render_to_response(
            self.get_context_data(new_key=created.key, new_token=created.token)
        )
        # the token must not linger in any cache
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(OrganizationView, TemplateResponseMixin, ContextMixin):
    """Asks to confirm (GET), then revokes the key (POST)."""

    permission = Permission.API_KEYS_MANAGE
    template_name = "accounts/integrations/api_key_revoke.html"

    def _key(self) -> ApiKey:
        key = api_key_get(organization=self.organization, key_id=self.kwargs["key_id"])
        if key is None:
            raise Http404("No such API key.")
        return key

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(api_key=self._key()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        key = api_key_revoke(organization=self.organization, user=user, key_id=kwargs["key_id"])
        if key is None:
            raise Http404("No such API key.")
        messages.success(
            request,
            _("The API key “%(name)s” is revoked. Requests that use it are refused.")
            % {"name": key.name},
        )
        return HttpResponseRedirect(
            reverse("accounts:api_key_list", kwargs={"org_slug": self.organization.slug})
        )


class SsoConnectionView(OrganizationView, TemplateResponseMixin, ContextMixin):
    """The organization's single sign-on connection: see it, set it up, change or disable it."""

    permission = Permission.SECURITY_MANAGE
    template_name = "accounts/integrations/sso_connection.html"

    def _form(self, connection: SsoConnection | None, data: Any = None) -> SsoConnectionForm:
        initial: dict[str, Any] = {}
        if connection is not None:
            initial = {
                field: getattr(connection, field)
                for field in ("provider", "allowed_domain", "client_id", "tenant_id", "enabled")
            }
        return SsoConnectionForm(data, initial=initial, has_secret=connection is not None)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["callback_urls"] = [
            (label, self.request.build_absolute_uri(reverse(f"{provider}_callback")))
            for provider, label in SsoConnection.Provider.choices
        ]
        context["sign_in_url"] = self.request.build_absolute_uri(reverse("sso_start"))
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        connection = sso_connection_get(organization=self.organization)
        return self.render_to_response(
            self.get_context_data(connection=connection, form=self._form(connection))
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        connection = sso_connection_get(organization=self.organization)
        form = self._form(connection, request.POST)
        if form.is_valid():
            user: User = request.user  # type: ignore[assignment]
            try:
                sso_connection_save(
                    organization=self.organization, user=user, values=form.cleaned_data
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Single sign-on settings saved."))
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(connection=connection, form=form))
