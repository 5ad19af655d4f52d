"""A signed-in browser session, so that a user can see theirs and sign out everywhere.

Platform-level like User. Keyed by Django's session key without a foreign key: Django deletes
and re-creates session rows when it cycles keys, and a row whose session is gone is simply
not listed (accounts.security.sessions.active_sessions) and is pruned at the next sign-in.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserSession(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)  # when the user signed in
    last_seen_at = models.DateTimeField(default=timezone.now)  # at most a minute stale
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        app_label = "accounts"
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="usersession_user_seen")]

    def __str__(self) -> str:
        return f"Session of user {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"
