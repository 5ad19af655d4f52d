from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from k12cloud.database_roles import APPEND_ONLY_TABLES

        APPEND_ONLY_TABLES.add("audit_auditevent")
