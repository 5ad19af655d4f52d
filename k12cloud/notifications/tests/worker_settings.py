"""Settings for the Celery worker and beat processes that tests start (real Redis broker).

The test settings, with the Celery delivery path switched on, a queue of the test's own (so
parallel test runs sharing a Redis database never take each other's tasks), a recording email
backend, and a short visibility timeout so that a SIGKILLed worker's tasks come back quickly.
"""

import os

from k12cloud.settings.test import *  # noqa: F403

NOTIFICATIONS_DELIVERY = "celery"
EMAIL_BACKEND = "k12cloud.notifications.testing.RecordingEmailBackend"
NOTIFICATIONS_RECORDING_FILE = os.environ.get("NOTIFICATIONS_RECORDING_FILE", "/dev/null")
NOTIFICATIONS_RECORDING_DELAY = float(os.environ.get("NOTIFICATIONS_RECORDING_DELAY", "0"))
CELERY_TASK_DEFAULT_QUEUE = os.environ["K12CLOUD_TEST_QUEUE"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "10"))
}
CELERY_BEAT_MAX_LOOP_INTERVAL = 1
