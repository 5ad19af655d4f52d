"""Settings shared by every deployment. Values that differ come from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF

from k12cloud.settings.environment import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", "")  # each environment module insists on its own terms
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
# "id:base64key,..." (first is current): wraps each organization's data keys
# (k12cloud.encryption.master_keys). Local and test settings use a fixed development key.
ENCRYPTION_MASTER_KEYS = env_str("ENCRYPTION_MASTER_KEYS", "")

INSTALLED_APPS = [
    # project apps first so their templates and management commands take precedence
    "k12cloud",
    "k12cloud.notifications",
    "accounts",
    "privacy_requests",
    "retention",
    "billing",
    "sources",
    "vendors",
    "trust",
    "incidents",
    "audit",
    "k12cloud.admin_site.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    # single sign-on, configured per organization (accounts.sso), never by global SocialApp rows
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "k12cloud.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: no-store, private on whatever is answered for one caller (signed-in user,
    # API key, any /api/ path) unless the view set its own; sees the redirects of those below
    "k12cloud.middleware.NoStoreMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
    # turns a sign-in refused by django-axes into the lockout page (accounts.security.lockout)
    "axes.middleware.AxesMiddleware",
    # from here on, every request runs in one transaction that carries the tenancy context
    "k12cloud.middleware.TenancyMiddleware",
    # inside it: idle and absolute session timeouts, session tracking (accounts.security)
    "accounts.security.sessions.SessionPolicyMiddleware",
    # inside that context (it reads the user's memberships): second factor before anything else
    "accounts.mfa.middleware.MfaEnforcementMiddleware",
    # DEBUG only: a view's 404 is the styled page, not Django's debug page
    "k12cloud.middleware.StyledNotFoundInDebugMiddleware",
]

ROOT_URLCONF = "k12cloud.urls"
WSGI_APPLICATION = "k12cloud.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.organization_switcher",
                "trust.context_processors.trust_banners",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL is the connection this process uses. Web, worker and beat connect as the
# runtime role (not a superuser, not the table owner, no BYPASSRLS); `migrate` runs with a
# DATABASE_URL for the owner role. DATABASE_APP_ROLE names the runtime role so that
# migrations can grant it privileges and `check_rls` can inspect it.
DATABASES = {"default": database_from_url(env_str("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
# No health check (issue #20): with it, Django sends a `SELECT 1` before the first statement of
# every request on a reused connection, a round trip per request to guard against a connection
# that broke while idle (a database restart or failover). Without it, such a request fails with
# a database error and rolls back whole (a request is one transaction), and Django discards
# the broken connection when the request ends (close_if_unusable_or_obsolete on
# request_finished; Celery's Django fixup does the same around each task), so the next request
# on that worker connects afresh. One failed request per worker after a restart is the price;
# tests/test_connection_upkeep.py proves the discard. DATABASE_CONN_HEALTH_CHECKS=true turns
# the check back on (e.g. behind a network that drops idle connections often).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_CONN_HEALTH_CHECKS", False)
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "k12cloud_app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tenancy: the application-level filter on tenant-owned querysets. Only the isolation tests
# switch it off, to prove that PostgreSQL row-level security alone keeps tenants apart.
TENANCY_APPLICATION_SCOPING = True

# --- Redis: Celery broker and cache ---------------------------------------------------------
REDIS_URL = redis_url(default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "k12cloud.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "k12cloud",
    }
}

# Reliability (docs/scheduled-work.md): a task is acknowledged only after it ran, and goes back
# to the queue when its worker dies; each worker process reserves one task at a time.
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# a worker that loses the broker gives its unacknowledged tasks back instead of finishing them
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_IGNORE_RESULT = True
# Longer than the longest task (audit.verify_audit_chains: 6 h hard limit), so a task still
# running is never handed to a second worker. The price: a task whose worker was SIGKILLed
# comes back only after this long (email does not wait for it: the outbox relay resends).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7 * 3600)
}
CELERY_TIMEZONE = "UTC"
# One beat only: the scheduler holds a Redis lock and a second beat stands by (k12cloud.beat).
CELERY_BEAT_SCHEDULER = "k12cloud.beat:SingleBeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5  # seconds; also how often the lock and heartbeat are renewed

# --- Accounts and authentication ------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # first: one sign-in check at a time per address, so axes's check and count are one step
    "accounts.security.lockout.SignInSerialization",
    # then: refuses a locked-out account before any password is checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False  # a reset never skips the second factor
OTP_TOTP_ISSUER = "k12cloud"  # the account name authenticator apps show
# The source address is throttled here; the account itself is locked by django-axes below (a
# per-key allauth limit would answer before axes and hide the lockout page).
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {"login_failed": "20/m/ip"}
ACCOUNT_PREVENT_ENUMERATION = True

# Single sign-on (accounts.sso): the adapter supplies each organization's OAuth client, signs in
# only existing members of that organization, and signs nobody up. The identity provider, bound
# to the organization's domain, vouches for the address, so no confirmation email is sent.
SOCIALACCOUNT_ADAPTER = "accounts.sso.SsoAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "google": {"SCOPE": ["openid", "email", "profile"], "OAUTH_PKCE_ENABLED": True},
    "microsoft": {"SCOPE": ["User.Read"], "OAUTH_PKCE_ENABLED": True},
}

# Lockout (django-axes, accounts.security.lockout): AXES_FAILURE_LIMIT failed sign-ins for one
# email address within the cool-off lock it (whether or not the account exists, so the answer
# reveals nothing) until AXES_COOLOFF_TIME after the last failure, or until an organization
# admin unlocks the member. Failures during a lockout do not extend it.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# by email address only (a callable: see its docstring for why the address is not in the key)
AXES_LOCKOUT_PARAMETERS = "accounts.security.lockout.lockout_parameters"
AXES_USERNAME_CALLABLE = "accounts.security.lockout.username_from_credentials"
AXES_CLIENT_IP_CALLABLE = "k12cloud.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit log
AXES_ENABLE_ADMIN = False  # ops reset with `manage.py axes_reset_username`; admins unlock members
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login", "email", "csrfmiddlewaretoken"]
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Passkeys (WebAuthn, accounts.mfa.passkeys) ---------------------------------------------
# The relying party id is the domain passkeys are bound to: browsers use a credential only on
# that domain and its subdomains, which is what makes passkeys phishing-resistant. The origins
# are the exact scheme://host[:port] values a ceremony may come from. Both default to
# PORTAL_BASE_URL (set below); an IP address is not a valid relying party id, so local
# development uses http://localhost:8000 for passkeys.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "")
WEBAUTHN_RP_NAME = env_str("WEBAUTHN_RP_NAME", "k12cloud")
WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", [])

# --- Network access -------------------------------------------------------------------------
# Reverse proxies and load balancers whose X-Forwarded-For is believed (k12cloud.client_ip).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# Deployment-wide allowlist for the Django admin (ops staff); empty means no restriction.
OPS_ADMIN_IP_ALLOWLIST = env_list("OPS_ADMIN_IP_ALLOWLIST", [])

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # first: its Bearer challenge makes a refused API key a 401 (accounts.api.authentication)
        "accounts.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, bounded in size and nesting: a crafted body is a 400 (k12cloud.api_common)
    "DEFAULT_PARSER_CLASSES": ["k12cloud.api_common.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "k12cloud portal API",
    "DESCRIPTION": "Privacy and security compliance for school districts and EdTech vendors.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # a signed-in user or an API key (the key holder integrates against the schema)
    "SERVE_PERMISSIONS": ["accounts.api.authentication.SignedInOrApiKey"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # the 401/403/404 every operation can answer, the 400 of a body the parser refuses
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "k12cloud.api_common.schema_postprocess",
    ],
    # privacy requests API: choice sets that share a field name get names of their own
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "privacy_requests.status.Status",
        "RequestStatusFilterEnum": "privacy_requests.api.serializers.FILTER_STATUS_CHOICES",
        "VerificationMethodEnum": "privacy_requests.models.PrivacyRequest.VerificationMethod",
        "StaffVerificationMethodEnum": "privacy_requests.forms.STAFF_METHOD_CHOICES",
        "RequestTypeEnum": "privacy_requests.models.REQUEST_TYPE_CHOICES",
        # the organization's choices, in Organization and OrganizationWithCaller
        "OrganizationKindEnum": "accounts.models.Organization.Kind",
        "OrganizationStatusEnum": "accounts.models.Organization.Status",
    },
}

# --- Public privacy-request intake (privacy_requests.intake) -------------------------------
# Proof of work (ALTCHA style): the browser searches 0..MAX_NUMBER for the challenge's number;
# a few hundred thousand SHA-256 hashes take a second or two, and cost a bot the same per form.
PRIVACY_INTAKE_POW_MAX_NUMBER = env_int("PRIVACY_INTAKE_POW_MAX_NUMBER", 250_000)
PRIVACY_INTAKE_POW_TTL_SECONDS = 30 * 60  # time to fill in the form
# submissions (POSTs) per client IP address and organization, in a fixed window
PRIVACY_INTAKE_RATE_LIMIT = 5
PRIVACY_INTAKE_RATE_WINDOW_SECONDS = 10 * 60

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and email -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# --- Audit chain checkpoints (audit.checkpoints) ----------------------------------------------
# Ed25519 signing key (PEM, or base64 of the raw 32 bytes); never stored in the database.
# Each environment module sets it; production requires it from the environment.
# record() appends audit events unsealed and beat runs the sealer (audit.sealing) every 2 s
# (k12cloud/celery.py); audit_verify fails naming any event still unsealed after this bound.
AUDIT_SEAL_BOUND_SECONDS = env_int("AUDIT_SEAL_BOUND_SECONDS", 300)
AUDIT_CHECKPOINT_PRIVATE_KEY = env_str("AUDIT_CHECKPOINT_PRIVATE_KEY", "")
# Public keys (base64, raw 32 bytes) of retired signing keys whose checkpoints still verify.
AUDIT_CHECKPOINT_PUBLIC_KEYS = env_list("AUDIT_CHECKPOINT_PUBLIC_KEYS", [])

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "k12cloud portal <no-reply@k-12.cloud>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # no personal data or secrets in logs (k12cloud.log_redaction; tests/test_logs_contain_...)
    "filters": {
        "redact": {"()": "k12cloud.log_redaction.RedactPersonalData"},
        # a refusal or a 404 is a warning line, not a traceback (k12cloud.log_filters)
        "client_error": {"()": "k12cloud.log_filters.ClientErrorWithoutTraceback"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # its DEBUG records print whole template contexts (names, links with tokens)
    "loggers": {
        "django.template": {"level": "INFO"},
        "django.request": {"filters": ["client_error"]},
    },
}

# --- fulfilment (fulfilment engineer) ---
# --- end of fulfilment ---
# --- routing (routing engineer) ---
# The API intake's rate (POST /api/v1/orgs/<slug>/requests/intake/), per API key (or per
# signed-in user and organization), as DRF writes it: "<count>/<second|minute|hour|day>".
# Past it the API answers 429 with Retry-After (privacy_requests.api.throttles.IntakeApiThrottle).
PRIVACY_INTAKE_API_RATE = env_str("PRIVACY_INTAKE_API_RATE", "120/minute")
# --- end of routing ---
# --- notifications (notifications engineer) ---
# Email after commit (k12cloud.notifications, docs/notifications.md): "celery" enqueues the send
# task; "in_process" sends in the committing process (tests and `manage.py shell` only). Either
# way the same service sends the outbox row, and the relay task sends what was left pending.
NOTIFICATIONS_DELIVERY = env_str("NOTIFICATIONS_DELIVERY", "celery")
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 5)  # then FAILED, ops alerted
NOTIFICATIONS_RELAY_AFTER_SECONDS = env_int("NOTIFICATIONS_RELAY_AFTER_SECONDS", 60)
# the deferred notices' fan-out task (not in notifications/tasks.py: docs/notifications.md)
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "k12cloud.notifications.fan_out"]
NOTIFICATIONS_MESSAGE_ID_DOMAIN = env_str("NOTIFICATIONS_MESSAGE_ID_DOMAIN", "k-12.cloud")
# The single-beat lock and the heartbeats (k12cloud.beat, /healthz/workers/).
BEAT_LOCK_KEY = env_str("BEAT_LOCK_KEY", "k12cloud:beat:lock")
BEAT_LOCK_TTL_SECONDS = env_int("BEAT_LOCK_TTL_SECONDS", 30)  # a dead beat's standby waits this
BEAT_HEARTBEAT_KEY = env_str("BEAT_HEARTBEAT_KEY", "k12cloud:beat:heartbeat")
TASK_RUNS_KEEP_DAYS = env_int("TASK_RUNS_KEEP_DAYS", 30)
# /healthz/workers/ says which of worker and beat is down only to signed-in ops staff and to
# callers sending `Authorization: Bearer <HEALTHZ_TOKEN>` (k12cloud.health); empty: no token
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")
# --- end of notifications ---
# --- tracking (deadline-tracking engineer) ---
# The portal's public address, for links in emails sent by tasks (no request to build them
# from): deadline reminders, digests, the requester's confirmation reminder.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
# the deadline-tracking tasks live in a sub-package that autodiscovery does not look into
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "privacy_requests.tracking.tasks"]
# --- end of tracking ---
# --- billing (billing engineer) ---
from k12cloud.settings.development_values import (  # noqa: E402
    DEVELOPMENT_STRIPE_SECRET_KEY,
    DEVELOPMENT_STRIPE_WEBHOOK_SECRET,
)
from k12cloud.settings.environment import env_bool  # noqa: E402

# Stripe (billing/, docs/billing.md). Production requires both secrets from the environment;
# local and test settings use placeholders that can never reach Stripe (tests fake its API).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", DEVELOPMENT_STRIPE_SECRET_KEY)
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", DEVELOPMENT_STRIPE_WEBHOOK_SECRET)
# seconds a webhook signature's timestamp may be old (Stripe's own default is 300)
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300)
# days an invoice may stay unpaid past its due date before ops staff are alerted
BILLING_GRACE_PERIOD_DAYS = env_int("BILLING_GRACE_PERIOD_DAYS", 30)
# when on, a cancelled subscription or an invoice unpaid past grace proposes the organization
# for termination, which ops staff confirm in the admin (off by default)
BILLING_TERMINATE_ON_NONPAYMENT = env_bool("BILLING_TERMINATE_ON_NONPAYMENT", False)
# --- end of billing ---
# --- retention (retention engineer) ---
# Failure injection for tests of resumable de-identification runs (retention.engine): the
# engine raises after this many committed chunks. Never set outside tests.
RETENTION_FAIL_AFTER_CHUNKS: int | None = None
# rows per de-identification chunk: one UPDATE and one transaction each
RETENTION_CHUNK_SIZE = 5_000
# --- end of retention ---
# --- SIS sources (sources engineer) ---
# sections other apps add to a request's access package (privacy_requests/fulfilment/sections.py)
# the access package's extension point (privacy_requests/fulfilment/sections.py): sections and
# attached files other apps add, in this order, after the portal's own
FULFILMENT_SECTION_PROVIDERS = [
    "sources.package.sis_sections",
    "vendors.package.vendor_sections",
]
FULFILMENT_FILE_PROVIDERS = ["vendors.package.vendor_files"]
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "sources.tasks"]
# OneRoster REST: seconds to wait for the SIS, and the longest Retry-After we honour in-request
SIS_REST_TIMEOUT_SECONDS = env_int("SIS_REST_TIMEOUT_SECONDS", 20)
SIS_REST_MAX_RETRY_AFTER_SECONDS = env_int("SIS_REST_MAX_RETRY_AFTER_SECONDS", 10)
# --- end of SIS sources ---

# --- dashboard ---
# panels each app adds to the organization dashboard (k12cloud/dashboard.py), one dotted path
# per line so that apps' additions merge cleanly
DASHBOARD_PANEL_PROVIDERS: list[str] = [
    "privacy_requests.dashboard.requests_panel",
    "accounts.dashboard.posture_panel",
    "retention.dashboard.retention_panel",
    "billing.dashboard.billing_panel",
    "trust.dashboard.dpa_panel",
    "incidents.dashboard.incidents_panel",
]
# --- end of dashboard ---

# --- backups (backups engineer) ---
# Encrypted pg_dump backups and monthly restore drills (backups/, docs/backups.md).
# The backup key: base64 of 32 random bytes (`openssl rand -base64 32`), from the environment,
# never from the database. Production refuses a missing key and the development one.
import json  # noqa: E402

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from k12cloud.settings.development_values import DEVELOPMENT_BACKUP_ENCRYPTION_KEY  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "backups"]

BACKUP_ENCRYPTION_KEY = env_str("BACKUP_ENCRYPTION_KEY", DEVELOPMENT_BACKUP_ENCRYPTION_KEY)
# retired keys (base64, comma-separated) that must still decrypt older backups
BACKUP_DECRYPTION_KEYS = env_list("BACKUP_DECRYPTION_KEYS", [])
# The role pg_dump, pg_restore and the drill connect as (to the database the portal uses):
# one that can read every row (the owner role that runs `migrate`) and create the drill's
# scratch database (CREATEDB). The runtime role of DATABASE_URL can do neither in production.
BACKUP_DATABASE_URL = env_str("BACKUP_DATABASE_URL", env_str("DATABASE_URL"))
# Where backups are stored: the "backups" storage alias. Local files by default; in production
# the S3-compatible backend of django-storages (BACKUP_STORAGE_BACKEND, BACKUP_STORAGE_OPTIONS
# as JSON, e.g. {"bucket_name": "k12cloud-backups", "location": "backups"}).
BACKUP_STORAGE_BACKEND = env_str(
    "BACKUP_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
BACKUP_STORAGE_ROOT = env_str("BACKUP_STORAGE_ROOT", str(BASE_DIR / ".local" / "backups"))
try:
    _backup_storage_options = json.loads(env_str("BACKUP_STORAGE_OPTIONS", "{}"))
except json.JSONDecodeError as _error:
    raise ImproperlyConfigured(f"BACKUP_STORAGE_OPTIONS is not JSON: {_error.msg}.") from None
BACKUP_STORAGE: dict[str, Any] = {
    "BACKEND": BACKUP_STORAGE_BACKEND,
    "OPTIONS": (
        {"location": BACKUP_STORAGE_ROOT}
        if BACKUP_STORAGE_BACKEND.endswith("FileSystemStorage")
        else _backup_storage_options
    ),
}
STORAGES: dict[str, dict[str, Any]] = {**STORAGES, "backups": BACKUP_STORAGE}  # type: ignore[no-redef]
# failed backups' records are kept this long (succeeded ones follow the 7/5/12 retention)
BACKUP_FAILED_KEEP_DAYS = env_int("BACKUP_FAILED_KEEP_DAYS", 30)
# seconds a restore drill step run in a subprocess (migrate, check_rls, audit_verify) may take
BACKUP_DRILL_STEP_TIMEOUT = env_int("BACKUP_DRILL_STEP_TIMEOUT", 4 * 3600)
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "backups.tasks"]
# --- end of backups ---
# --- exports (organization export, exports/) ---

INSTALLED_APPS = [*INSTALLED_APPS, "exports"]
# Where finished exports are kept (sealed under the organization's data key, exports.crypto):
# local files under EXPORTS_STORAGE_ROOT by default; EXPORTS_STORAGE_BACKEND=s3 stores them
# in an S3-compatible bucket through django-storages (credentials from the usual AWS_*
# environment variables, or the instance's role).
EXPORTS_STORAGE_ROOT = env_str("EXPORTS_STORAGE_ROOT", str(BASE_DIR / ".local" / "exports"))
EXPORTS_STORAGE: dict[str, Any] = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("EXPORTS_S3_BUCKET", ""),
            "endpoint_url": env_str("EXPORTS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("EXPORTS_S3_REGION", "") or None,
            "location": env_str("EXPORTS_S3_PREFIX", "exports"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,  # never a public URL: downloads go through the portal
        },
    }
    if env_str("EXPORTS_STORAGE_BACKEND", "filesystem") == "s3"
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": EXPORTS_STORAGE_ROOT, "file_permissions_mode": 0o600},
    }
)
STORAGES = {**STORAGES, "exports": EXPORTS_STORAGE}
# rows read per chunk (one short transaction each; the progress bar moves per chunk)
EXPORTS_CHUNK_SIZE = env_int("EXPORTS_CHUNK_SIZE", 1000)
# how long a finished export can be downloaded; then the file is deleted (exports.sweep)
EXPORTS_LINK_DAYS = env_int("EXPORTS_LINK_DAYS", 7)
# a running export whose worker gave no sign of life for this long is started again
EXPORTS_STALE_MINUTES = env_int("EXPORTS_STALE_MINUTES", 15)
# a worker killed this many times on one export: it is marked failed instead
EXPORTS_MAX_ATTEMPTS = env_int("EXPORTS_MAX_ATTEMPTS", 3)
# the Celery queue exports are sent to; empty: the default queue. A worker of their own
# (`celery worker -Q exports`) keeps a long export from delaying email and reminders.
EXPORTS_QUEUE = env_str("EXPORTS_QUEUE", "")
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "exports.tasks"]
# --- end of exports ---
# --- billing: remittance details on the portal's invoice PDF (billing.invoice_pdf) ---
# How districts pay by check or bank transfer; lines separated by "|" (docs/billing.md). Local
# and test settings print development values marked "DO NOT PAY"; production requires the
# real ones and refuses those (k12cloud.settings.production).
from k12cloud.settings.development_values import DEVELOPMENT_BILLING_REMITTANCE  # noqa: E402

BILLING_REMITTANCE = {
    key: env_str(f"BILLING_REMITTANCE_{key.upper()}", default)
    for key, default in DEVELOPMENT_BILLING_REMITTANCE.items()
}
# --- end of billing remittance ---

# --- trust ---
# The trust center (trust/, docs/trust-center.md): documents, notices, DPA acceptance, planned
# maintenance and the status page.
from k12cloud.settings.development_values import DEVELOPMENT_TRUST_RECEIPT_PRIVATE_KEY  # noqa: E402

# Ed25519 key (base64 of the raw 32 bytes, or PEM) that signs DPA acceptance receipts; its
# public key is published at /trust/receipt-key/. Production refuses the development key.
TRUST_RECEIPT_PRIVATE_KEY = env_str(
    "TRUST_RECEIPT_PRIVATE_KEY", DEVELOPMENT_TRUST_RECEIPT_PRIVATE_KEY
)
# the address the minute health check requests to see that a web process answers
# (empty: PORTAL_BASE_URL + /healthz/)
TRUST_WEB_CHECK_URL = env_str("TRUST_WEB_CHECK_URL", "")
# --- end of trust ---

# --- incidents ---
# recipients queued per batch (one transaction each) when a breach notice is sent
INCIDENT_NOTICE_BATCH_SIZE = env_int("INCIDENT_NOTICE_BATCH_SIZE", 500)
# --- end of incidents ---
