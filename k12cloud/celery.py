"""The Celery application. The periodic schedule is code, reviewed like code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "k12cloud.settings.local")

app = Celery("k12cloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Filled in by the scheduled-work issue (deadline sweeps, reminders, retention runs).
app.conf.beat_schedule = {
    # audit: sign every chain's head hourly, verify every chain nightly (audit.tasks)
    "audit-checkpoint-chains": {
        "task": "audit.checkpoint_audit_chains",
        "schedule": crontab(minute=7),
    },
    "audit-verify-chains": {
        "task": "audit.verify_audit_chains",
        "schedule": crontab(hour=3, minute=17),
    },
}
