from __future__ import annotations

from collections.abc import Iterator

import pytest

from k12cloud.celery import app


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run `.delay()` inline, so the sweep's fan-out runs in the test (real task code)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
