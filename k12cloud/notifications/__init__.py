"""Notifications: in-app notices with a bell, and email through a transactional outbox.

`notify()` is the one call point for telling staff something; `email_enqueue()` is the one for
any email (staff or requester). Both write rows in the caller's transaction, so nothing is sent
for work that rolls back and nothing is lost when the process dies after the commit: the relay
task sends what is pending (docs/notifications.md).
"""
