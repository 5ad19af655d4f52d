from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from incidents.models import BreachRule

rules_migration = importlib.import_module("incidents.migrations.0002_load_breach_rules")


@pytest.fixture
def breach_rules(db: None) -> None:
    """The migration's rows (a transactional test's flush empties the table)."""
    if not BreachRule.objects.exists():
        rules_migration.load(apps, None)
