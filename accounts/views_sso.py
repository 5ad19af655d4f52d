"""The public single sign-on entry: the work email address picks the organization's provider."""

from __future__ import annotations

from typing import Any

from allauth.account.utils import get_next_redirect_url
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import AuthProcess
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from accounts.forms_integrations import SsoStartForm
from accounts.models import SsoConnection
from accounts.sso import SESSION_KEY, email_domain, sso_connection_for_domain


class SsoStartView(View):
    template_name = "accounts/sso/start.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, self.template_name, {"form": SsoStartForm()})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SsoStartForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            connection = sso_connection_for_domain(domain=email_domain(email))
            if connection is not None:
                return self._redirect_to_provider(request, connection, email)
            form.add_error(
                "email",
                _(
                    "Single sign-on is not set up for this address's domain. Sign in with "
                    "your password, or ask your organization's administrator."
                ),
            )
        return render(request, self.template_name, {"form": form})

    def _redirect_to_provider(
        self, request: HttpRequest, connection: SsoConnection, email: str
    ) -> HttpResponse:
        # the adapter (accounts.sso.SsoAdapter) builds this organization's OAuth client from it
        request.session[SESSION_KEY] = connection.pk
        provider = get_adapter().get_provider(request, connection.provider)
        auth_params = {"login_hint": email}
        if connection.provider == SsoConnection.Provider.GOOGLE:
            auth_params["hd"] = connection.allowed_domain  # offers only Workspace accounts
        next_url = get_next_redirect_url(request)  # only same-site addresses
        return provider.redirect(
            request, process=AuthProcess.LOGIN, next_url=next_url, auth_params=auth_params
        )
