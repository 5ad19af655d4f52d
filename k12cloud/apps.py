from django.apps import AppConfig
from django.db.models.signals import post_migrate


class K12CloudConfig(AppConfig):
    name = "k12cloud"
    verbose_name = "k12cloud platform"

    def ready(self) -> None:
        from k12cloud.database_roles import grant_runtime_privileges

        post_migrate.connect(grant_runtime_privileges, dispatch_uid="k12cloud-grant-runtime")
