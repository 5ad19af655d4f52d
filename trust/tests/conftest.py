"""The trust center's tests share Redis with the rest of the suite: its cache entries are
removed before and after each test, so no banner leaks into another test's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import scoping, tenant_a, tenant_b  # noqa: F401 (the isolation fixtures)
from trust.tests.factories import forget_trust_cache


@pytest.fixture(autouse=True)
def _clean_trust_cache() -> Iterator[None]:
    forget_trust_cache()
    yield
    forget_trust_cache()
