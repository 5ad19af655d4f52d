"""The reference rules table must be there for these tests.

Migration 0003 loads it once into the test database, but a transactional test elsewhere in
the suite flushes every table afterwards; reload it (inside the test's transaction) if so.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from privacy_requests.rules.models import JurisdictionRule

reference_migration = importlib.import_module(
    "privacy_requests.migrations.0003_load_reference_rules"
)


@pytest.fixture
def reference_rules(db: None) -> None:
    if not JurisdictionRule.objects.exists():
        reference_migration.load(apps, None)
