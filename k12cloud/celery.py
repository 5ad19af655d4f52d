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
    # audit: seal new events into their chains every 2 seconds, sign every chain's head
    # hourly, verify every chain nightly (audit.tasks; AUDIT_SEAL_BOUND_SECONDS)
    "audit-seal-chains": {
        "task": "audit.seal_audit_chains",
        "schedule": 2.0,
        "options": {"expires": 2},  # a backlog of sealers is pointless: the next one comes
    },
    "audit-checkpoint-chains": {
        "task": "audit.checkpoint_audit_chains",
        "schedule": crontab(minute=7),
    },
    "audit-verify-chains": {
        "task": "audit.verify_audit_chains",
        "schedule": crontab(hour=3, minute=17),
    },
    # --- routing (routing engineer) ---
    # --- end of routing ---
    # --- notifications (notifications engineer) ---
    # the outbox relay: send emails committed but never enqueued (a crash), and due retries
    "notifications-relay-outbox": {
        "task": "notifications.relay_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},  # a backlog of relays is pointless: the next one comes
    },
    "notifications-prune-task-runs": {
        "task": "notifications.prune_task_runs",
        "schedule": crontab(hour=4, minute=41),
    },
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    # privacy_requests.tracking.tasks: each fans out one tenant task per organization
    "tracking-deadline-reminders": {
        "task": "privacy_requests.tracking.sweep_deadlines",
        "schedule": crontab(minute=5),
    },
    # every hour: each organization sends when its own local time is ~07:00
    "tracking-morning-digest": {
        "task": "privacy_requests.tracking.sweep_digests",
        "schedule": crontab(minute=0),
    },
    "tracking-unconfirmed-requests": {
        "task": "privacy_requests.tracking.sweep_unconfirmed",
        "schedule": crontab(minute=35),
    },
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # dunning: alert ops about invoices unpaid past grace, propose termination (billing.tasks)
    "billing-dunning": {"task": "billing.dunning_sweep", "schedule": crontab(hour=6, minute=23)},
    # webhook events whose processing failed are stored; process them again
    "billing-retry-stripe-events": {
        "task": "billing.retry_stripe_events_sweep",
        "schedule": crontab(minute="*/15"),
    },
    # --- end of billing ---
    # --- retention (retention engineer) ---
    # de-identify terminated organizations that are due and not held, and rows due by age
    # in active organizations (retention.tasks)
    "retention-sweep": {
        "task": "retention.sweep",
        "schedule": crontab(hour=4, minute=41),
    },
    # --- end of retention ---
    # --- SIS sources (sources engineer) ---
    # delete the rows of SIS imports past their retention period (sources.tasks)
    "sources-expire-imports": {
        "task": "sources.expire_imports",
        "schedule": crontab(hour=4, minute=53),
    },
    # --- end of SIS sources ---
    # --- vendors: reminders before vendor tasks' due dates, escalation after (vendors.tasks) ---
    "vendors-sweep": {
        "task": "vendors.sweep",
        "schedule": crontab(minute=35),
    },
    # --- end of vendors ---
    # --- backups: encrypted pg_dump daily, then 7/5/12 pruning; a restore drill monthly ---
    "backups-daily": {
        "task": "backups.backup_daily",
        "schedule": crontab(hour=2, minute=13),
    },
    "backups-restore-drill": {
        "task": "backups.restore_drill_monthly",
        "schedule": crontab(day_of_month=1, hour=5, minute=29),
    },
    # --- end of backups ---
    # --- exports (exports/) ---
    # expired export files deleted, exports whose worker died started again
    "exports-sweep": {"task": "exports.sweep", "schedule": crontab(minute="*/10")},
    # --- end of exports ---
    # --- trust center: the status page's health check, notices and reminders (trust.tasks) ---
    "trust-record-health": {
        "task": "trust.record_health",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "trust-send-notices": {
        "task": "trust.send_notices",
        "schedule": crontab(minute="*/10"),
    },
    # --- end of trust center ---
    # --- incidents: reminders before breach-notification legs fall due, escalation after ---
    "incidents-sweep": {
        "task": "incidents.sweep",
        "schedule": crontab(minute="*/15"),
    },
    # --- end of incidents ---
}
