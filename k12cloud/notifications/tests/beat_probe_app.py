"""The Celery app with a schedule of one probe entry every second, for the two-beats test.

`celery -A k12cloud.notifications.tests.beat_probe_app beat` runs the real scheduler
(k12cloud.beat.SingleBeatScheduler, from the settings) on this schedule; the test counts the
probe messages each beat published to its queue.
"""

from k12cloud.celery import app

app.conf.beat_schedule = {
    "probe": {"task": "notifications.tests.beat_probe", "schedule": 1.0},
}

__all__ = ["app"]
