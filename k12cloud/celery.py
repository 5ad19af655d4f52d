"""The Celery application. The periodic schedule is code, reviewed like code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "k12cloud.settings.local")

app = Celery("k12cloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Filled in by the scheduled-work issue (deadline sweeps, reminders, retention runs).
app.conf.beat_schedule = {}
