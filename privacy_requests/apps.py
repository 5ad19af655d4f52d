from django.apps import AppConfig


class PrivacyRequestsConfig(AppConfig):
    name = "privacy_requests"

    def ready(self) -> None:
        # registers the Celery task that flags stale deadline snapshots (no `tasks` module to
        # autodiscover it from)
        from privacy_requests import routing  # noqa: F401
