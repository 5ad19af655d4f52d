"""`{% load sign_in_lockout %}{% lockout_status user as lock %}`: a member's lockout status."""

from __future__ import annotations

from django import template

from accounts.models import User
from accounts.security.lockout import LockStatus, lock_status

register = template.Library()


@register.simple_tag
def lockout_status(user: User) -> LockStatus:
    return lock_status(user.email)
