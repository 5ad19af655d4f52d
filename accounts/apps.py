from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and Authorized Users"

    def ready(self) -> None:
        # sign-in, sign-out, lockout and password audit events
        from accounts.security import receivers

        receivers.connect()
