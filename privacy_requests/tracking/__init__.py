"""Deadline tracking: reminders before a deadline, daily escalations after it, the morning
digest, and the sweep of requests whose email was never confirmed (docs/deadline-tracking.md).

`selectors` reads (set-based: one query finds the requests in a window), `services` writes
(idempotent by dedupe keys, so a sweep may run any number of times), `tasks` are the Celery
wrappers the beat schedule calls: one fan-out task, one tenant task per organization.
"""
