"""STORAGES["exports"]: local files by default, an S3-compatible bucket when the environment
says so (django-storages), through the same storage API."""

from __future__ import annotations

import os
import subprocess
import sys

from k12cloud.notifications.tests import processes

PROBE = (
    "import django; django.setup();"
    "from django.core.files.storage import storages;"
    "s = storages['exports'];"
    "print(type(s).__module__ + '.' + type(s).__name__);"
    "print(getattr(s, 'bucket_name', None) or getattr(s, 'location', ''))"
)


def probe(**env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=processes.ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "k12cloud.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_local_files_by_default(tmp_path: object) -> None:
    backend, location = probe(EXPORTS_STORAGE_ROOT=str(tmp_path))
    assert backend == "django.core.files.storage.filesystem.FileSystemStorage"
    assert location == str(tmp_path)


def test_an_s3_compatible_bucket_when_configured() -> None:
    backend, bucket = probe(
        EXPORTS_STORAGE_BACKEND="s3",
        EXPORTS_S3_BUCKET="k12cloud-exports",
        EXPORTS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert backend == "storages.backends.s3.S3Storage"
    assert bucket == "k12cloud-exports"
