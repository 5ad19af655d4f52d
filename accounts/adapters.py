from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.mfa.selectors import user_has_second_factor
from k12cloud.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Authorized Users join by invitation from their organization's admin, never by signup.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's per-address rate limits count: the client's, found the way
        the lockout, the IP allowlists and the sessions page find it (TRUSTED_PROXIES).

        allauth's own lookup knows nothing of TRUSTED_PROXIES: behind the load balancer it
        would count every sign-in in the country against the balancer's address.
        """
        address = client_ip(request)
        if address is None:
            raise PermissionDenied("Unable to determine the client's address.")
        return address

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # "Successfully signed in" is not true yet: a fresh sign-in of a user with an
        # authenticator still has the second step to do (accounts.mfa.middleware).
        if message_template == "account/messages/logged_in.txt":
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user_has_second_factor(user=user):
                return
        super().add_message(request, level, message_template, message_context, extra_tags, message)
