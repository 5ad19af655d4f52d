from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from k12cloud.database_roles import APPEND_ONLY_TABLES

        APPEND_ONLY_TABLES.add("audit_auditevent")
        APPEND_ONLY_TABLES.add("audit_auditcheckpoint")

        from audit import checks  # noqa: F401 (registers the checkpoint key check)
