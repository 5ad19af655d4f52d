from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from k12cloud.database_roles import APPEND_ONLY_TABLES, WRITE_ONCE_COLUMNS

        APPEND_ONLY_TABLES.add("audit_auditevent")
        APPEND_ONLY_TABLES.add("audit_auditcheckpoint")
        # the sealer's one update per event (audit.sealing); the table's trigger refuses others
        WRITE_ONCE_COLUMNS["audit_auditevent"] = ("sequence", "previous_hash", "hash", "sealed_at")

        from audit import checks  # noqa: F401 (registers the checkpoint key check)
