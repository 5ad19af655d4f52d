"""Settings for pytest: real PostgreSQL and Redis, fast password hashing, in-memory email.

DATABASE_URL here is the *owner* connection: pytest-django creates and migrates the test
database with it, and the root conftest then reconnects as DATABASE_APP_ROLE so that every
test runs as the runtime role, under row-level security, as production does.
"""

import os

from k12cloud.encryption.master_keys import DEVELOPMENT_MASTER_KEYS
from k12cloud.settings.base import *  # noqa: F403
from k12cloud.settings.base import CACHES
from k12cloud.settings.development_values import DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY
from k12cloud.settings.environment import env_str

SECRET_KEY = "test-only-secret-key-that-is-long-enough-for-django-checks-0123456789"  # noqa: S105
ENCRYPTION_MASTER_KEYS = DEVELOPMENT_MASTER_KEYS
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASE_APP_PASSWORD = env_str("DATABASE_APP_PASSWORD", "")
AUDIT_CHECKPOINT_PRIVATE_KEY = DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY  # public: tests only
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# parallel pytest-xdist workers share one Redis: keep their keys apart
CACHES["default"]["KEY_PREFIX"] = f"k12cloud-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
ACCOUNT_RATE_LIMITS = False
# serve static files straight from the apps and static/ (no collectstatic outside production)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# the intake form's proof of work: a handful of hashes, not a few hundred thousand
PRIVACY_INTAKE_POW_MAX_NUMBER = 1000
# the outbox sends after commit in the committing process, so tests read django.core.mail.outbox;
# the Celery path (task, worker, relay) has its own tests with real workers (notifications)
NOTIFICATIONS_DELIVERY = "in_process"
# backups (backups/): the "backups" storage alias, replaced with the rest of STORAGES above
STORAGES = {**STORAGES, "backups": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
# --- exports ---
STORAGES = {**STORAGES, "exports": EXPORTS_STORAGE}  # noqa: F405
# --- end of exports ---
