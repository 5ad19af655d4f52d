"""`manage.py ops_group`: create or refresh the "Ops staff" group (accounts.ops_staff).

Run after `migrate` on each deploy; idempotent. To make a person ops staff, tick "staff status"
and add the group on their user page in the admin (Accounts, Users).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.ops_staff import OPS_GROUP, ops_group_sync


class Command(BaseCommand):
    help = 'Create or refresh the "Ops staff" group and its admin permissions.'

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            group = ops_group_sync()
        count = group.permissions.count()
        self.stdout.write(f'Group "{OPS_GROUP}" has {count} permissions.')
