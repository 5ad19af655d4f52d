from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture(autouse=True)
def exports_storage(tmp_path: Path) -> Iterator[Path]:
    """Each test's exports in a folder of its own (the real FileSystemStorage)."""
    root = tmp_path / "exports"
    root.mkdir()
    storages = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    with override_settings(STORAGES=storages, EXPORTS_STORAGE_ROOT=str(root)):
        yield root
