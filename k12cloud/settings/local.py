"""Development settings: `make run` sets DATABASE_URL and REDIS_URL (see k12cloud/devstack.py)."""

from k12cloud.encryption.master_keys import DEVELOPMENT_MASTER_KEYS
from k12cloud.settings.base import *  # noqa: F403
from k12cloud.settings.base import BASE_DIR
from k12cloud.settings.development_values import DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY
from k12cloud.settings.environment import env_list, env_str

DEBUG = True
SECRET_KEY = env_str("SECRET_KEY", "local-development-only-not-a-secret")
ENCRYPTION_MASTER_KEYS = env_str("ENCRYPTION_MASTER_KEYS", DEVELOPMENT_MASTER_KEYS)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# a fixed, public key: local checkpoints prove nothing, production sets its own
AUDIT_CHECKPOINT_PRIVATE_KEY = env_str(
    "AUDIT_CHECKPOINT_PRIVATE_KEY", DEVELOPMENT_AUDIT_CHECKPOINT_PRIVATE_KEY
)
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / ".local" / "email"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": EXPORTS_STORAGE,  # noqa: F405 (exports/)
}
# serve static files straight from the apps and static/ (no collectstatic outside production)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# backups (backups/): the "backups" storage alias (local files), replaced with STORAGES above
STORAGES = {**STORAGES, "backups": BACKUP_STORAGE}  # noqa: F405
