"""How the audit log names actions, areas and target types to people (portal and exports).

An action missing here still shows, with a label derived from its name: new actions need no
change in this file to appear, only to read well.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from audit.actions import Action

AREA_LABELS: dict[str, Promise] = {
    "auth": _("Sign-in and sessions"),
    "mfa": _("Second factor"),
    "members": _("Members and invitations"),
    "member_security": _("Members' sign-ins and second factors"),
    "security": _("Security settings"),
    "api_keys": _("API keys"),
    "organizations": _("Organization"),
    "platform": _("Platform"),
    "deadlines": _("Deadlines"),
    "audit": _("Audit log"),
}

ACTION_LABELS: dict[Action, Promise] = {
    Action.SIGNED_IN: _("Signed in"),
    Action.SIGN_IN_FAILED: _("Sign-in failed"),
    Action.LOCKED_OUT: _("Locked out"),
    Action.UNLOCKED: _("Unlocked"),
    Action.SIGNED_OUT: _("Signed out"),
    Action.SESSIONS_REVOKED: _("Sessions signed out"),
    Action.SESSION_EXPIRED: _("Session expired"),
    Action.PASSWORD_CHANGED: _("Password changed"),
    Action.PASSWORD_RESET: _("Password reset"),
    Action.MFA_ENROLLED: _("Authenticator set up"),
    Action.MFA_REMOVED: _("Second factor turned off"),
    Action.MFA_RECOVERY_CODES_GENERATED: _("Recovery codes generated"),
    Action.MFA_RECOVERY_CODE_USED: _("Recovery code used"),
    Action.MFA_VERIFICATION_FAILED: _("Second-factor code refused"),
    Action.MEMBER_SIGNED_IN: _("Member signed in"),
    Action.MEMBER_SIGN_IN_FAILED: _("Member's sign-in failed"),
    Action.MEMBER_LOCKED_OUT: _("Member locked out"),
    Action.MEMBER_MFA_ENROLLED: _("Member set up an authenticator"),
    Action.MEMBER_PASSKEY_REGISTERED: _("Member added a passkey"),
    Action.MEMBER_MFA_REMOVED: _("Member turned off their second factor"),
    Action.MEMBER_RECOVERY_CODE_USED: _("Member used a recovery code"),
    Action.MEMBER_INVITED: _("Member invited"),
    Action.INVITATION_REVOKED: _("Invitation revoked"),
    Action.INVITATION_ACCEPTED: _("Invitation accepted"),
    Action.MEMBER_ROLE_CHANGED: _("Role changed"),
    Action.MEMBER_DEACTIVATED: _("Member deactivated"),
    Action.MEMBER_REACTIVATED: _("Member reactivated"),
    Action.MFA_POLICY_CHANGED: _("MFA policy changed"),
    Action.IP_ALLOWLIST_CHANGED: _("IP allowlist changed"),
    Action.SESSION_POLICY_CHANGED: _("Session limits changed"),
    Action.SSO_CONNECTION_CHANGED: _("Single sign-on changed"),
    Action.ACCESS_REFUSED_BY_IP: _("Access refused by IP allowlist"),
    Action.API_KEY_CREATED: _("API key created"),
    Action.API_KEY_REVOKED: _("API key revoked"),
    Action.ORGANIZATION_CREATED: _("Organization created"),
    Action.DEMO_DATA_SEEDED: _("Demo data seeded"),
    Action.JURISDICTION_RULE_SAVED: _("Jurisdiction rule saved"),
    Action.RULE_SELECTION_CHANGED: _("Deadline rules chosen"),
    Action.CONTRACT_RULE_SAVED: _("Contract deadline saved"),
    Action.CLOSURE_ADDED: _("Closure added"),
    Action.CLOSURE_REMOVED: _("Closure removed"),
    Action.AUDIT_EXPORTED: _("Audit log exported"),
}

TARGET_TYPE_LABELS: dict[str, Promise] = {
    "accounts.organization": _("Organization"),
    "accounts.user": _("User account"),
    "accounts.membership": _("Member"),
    "accounts.invitation": _("Invitation"),
    "accounts.apikey": _("API key"),
    "accounts.ssoconnection": _("Single sign-on connection"),
    "privacy_requests.jurisdictionrule": _("Jurisdiction rule"),
    "privacy_requests.contractrule": _("Contract deadline"),
    "privacy_requests.organizationclosure": _("Closure"),
}


def _plain_label(value: str) -> str:
    try:
        return str(ACTION_LABELS[Action(value)])
    except (ValueError, KeyError):
        return value.rsplit(".", 1)[-1].replace("_", " ").capitalize()


@lru_cache(maxsize=8)
def _shared_labels(language: str | None) -> frozenset[str]:
    """Labels that two catalogued actions share in this language (billing's and retention's
    "Organization terminated"): those actions are named with their area too."""
    counts = Counter(_plain_label(action.value) for action in Action)
    return frozenset(label for label, count in counts.items() if count > 1)


def action_label(value: str) -> str:
    """The label of an action value; unknown or unlabelled values read as their name. Two
    actions never read the same: a label two share gets the area ("… (Billing)")."""
    label = _plain_label(value)
    if label in _shared_labels(get_language()):
        return f"{label} ({area_label(value.split('.', 1)[0])})"
    return label


def area_label(area: str) -> str:
    label = AREA_LABELS.get(area)
    return str(label) if label is not None else area.replace("_", " ").capitalize()


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every catalogued action, grouped by area in catalogue order, for a <select>."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in Action:
        area = action.value.split(".", 1)[0]
        groups.setdefault(area, []).append((action.value, action_label(action.value)))
    return [(area_label(area), choices) for area, choices in groups.items()]


def target_type_label(value: str) -> str:
    label = TARGET_TYPE_LABELS.get(value)
    return str(label) if label is not None else value


def changes_summary(changes: object) -> str:
    """A one-line reading of an event's `changes` (already free of personal values)."""
    if not isinstance(changes, dict) or not changes:
        return ""
    parts = []
    for key, value in changes.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            parts.append(f"{key}: {value['from']} → {value['to']}")
        elif isinstance(value, list):
            parts.append(f"{key}: {', '.join(str(v) for v in value) or '-'}")
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)
