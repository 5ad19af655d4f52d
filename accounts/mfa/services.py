"""Every write about second factors: enrolment, recovery codes, verification, removal, policy.

Platform events (organization=None) except the organization's policy change. Audit `changes`
carry methods, counts and flags only.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django_otp.models import Device, VerifyNotAllowed
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import (
    RECOVERY_CODE_ALPHABET,
    RECOVERY_CODE_LENGTH,
    RecoveryCode,
    RecoveryCodeDevice,
    WebAuthnCredential,
    recovery_code_digest,
)
from accounts.models import Organization, User
from audit.actions import Action
from audit.services import record

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
_TOTP_CODE = re.compile(r"^\d{6}$")


class MfaRequiredError(Exception):
    """The user's organization (or ops duty) requires a second factor: it cannot be removed."""


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a code: the device that accepted it, or why none did."""

    device: Device | None
    method: str  # "totp" or "recovery_code"
    locked_until: datetime | None = None  # set when too many wrong codes were entered
    recovery_codes_left: int | None = None


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def totp_device_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for enrolment: the pending one, or a new key.

    Reusing the pending device keeps the QR code stable when the page is reloaded.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user: User, device_id: int, token: str) -> list[str] | None:
    """Confirm a pending authenticator with a code from it; returns new recovery codes.

    The new device replaces any authenticator the user had, and every earlier recovery code.
    Returns None (and audits the failure) when the code is wrong; `device_id` must be the
    user's pending device.
    """
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(pk=device_id, user=user, confirmed=False)
        .first()
    )
    if device is None or not device.verify_token(token.strip()):
        record(
            Action.MFA_VERIFICATION_FAILED,
            target=user,
            changes={"method": "totp", "stage": "enrolment"},
        )
        return None
    replaced = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()[0]
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(
        Action.MFA_ENROLLED,
        target=user,
        changes={"method": "totp", "replaced_device": bool(replaced)},
    )
    return recovery_codes_generate(user=user)


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """Ten new single-use recovery codes, replacing all earlier ones. Only hashes are kept:
    the caller shows the returned codes once."""
    device, _ = RecoveryCodeDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": "Recovery codes"}
    )
    device.codes.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes
    )
    record(Action.MFA_RECOVERY_CODES_GENERATED, target=user, changes={"count": RECOVERY_CODE_COUNT})
    return codes


@transaction.atomic
def second_factor_verify(*, user: User, code: str) -> Verification:
    """Check a code from the user's authenticator app (six digits) or a recovery code.

    An authenticator code is accepted once: django-otp refuses a time step at or before the
    last one used (`last_t`), and the latest step of the window with the same code is the one
    recorded, so a code cannot be replayed within its window. Wrong codes of
    either kind back off exponentially (django-otp's throttling: 1, 2, 4... seconds), and
    while either device is backing off every code is refused unchecked, so alternating
    between the two factors gains nothing. A right code ends both back-offs. A recovery code
    is consumed. Failures are audited.
    """
    code = code.strip()
    compact = code.replace(" ", "")
    method = "totp" if _TOTP_CODE.match(compact) else "recovery_code"
    # both rows locked, always in this order (enrolment locks the same two)
    totp = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=True)
        .order_by("-pk")
        .first()
    )
    recovery = (
        RecoveryCodeDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    )
    devices: list[TOTPDevice | RecoveryCodeDevice] = [d for d in (totp, recovery) if d is not None]
    locked_until = _backing_off_until(devices)
    if locked_until is not None:
        verification = Verification(device=None, method=method, locked_until=locked_until)
    elif method == "totp":
        verification = _verify_totp(totp, compact)
    else:
        verification = _verify_recovery_code(user, recovery, code)
    if verification.device is None:
        record(
            Action.MFA_VERIFICATION_FAILED,
            target=user,
            changes={
                "method": verification.method,
                "stage": "sign_in",
                "throttled": verification.locked_until is not None,
            },
        )
    else:
        # the accepting device reset its own back-off; the user has proved a factor
        for device in devices:
            if device is not verification.device and device.throttling_failure_count:
                device.throttle_reset(commit=True)
    return verification


def _backing_off_until(devices: list[TOTPDevice | RecoveryCodeDevice]) -> datetime | None:
    """The latest end of a back-off after wrong codes among `devices`, if any is running."""
    ends = []
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed and details and details.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
            ends.append(details["locked_until"])
    return max(ends, default=None)


def _verify_totp(device: TOTPDevice | None, token: str) -> Verification:
    if device is None:
        return Verification(device=None, method="totp")
    drift = device.drift
    if not device.verify_token(token):
        return Verification(device=None, method="totp")
    _use_up_later_steps_with_the_same_code(device, token=int(token), drift=drift)
    return Verification(device=device, method="totp")


def _use_up_later_steps_with_the_same_code(device: TOTPDevice, *, token: int, drift: int) -> None:
    """Record the latest step of the window whose code is `token` as the last one used.

    django-otp tries the steps of its window (the current one and `tolerance` either side)
    oldest first and records the first match as used. When a later step of the window has the
    same six digits (about one sign-in in a million), that step stayed open and the same code
    was accepted there a second time, within the same 30 seconds. `drift` is the device's drift
    before verification, which placed the window.
    """
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift)
    totp.time = time.time()  # a step later than verify_token's clock at worst: more is burnt
    for offset in range(device.tolerance, -device.tolerance - 1, -1):
        totp.drift = drift + offset
        if totp.t() <= device.last_t:
            return
        if totp.token() == token:
            # the drift django-otp synced stays: which step the phone meant is not known
            device.last_t = totp.t()
            device.save(update_fields=["last_t"])
            return


def _verify_recovery_code(user: User, device: RecoveryCodeDevice | None, code: str) -> Verification:
    if device is None or not device.verify_token(code):
        return Verification(device=None, method="recovery_code")
    left = device.codes.count()
    record(Action.MFA_RECOVERY_CODE_USED, target=user, changes={"remaining": left})
    return Verification(device=device, method="recovery_code", recovery_codes_left=left)


@transaction.atomic
def mfa_disable(*, user: User, required: bool) -> None:
    """Remove the user's authenticator, passkeys and recovery codes.

    Refused with MfaRequiredError when `required` (see selectors.mfa_required): such users may
    only replace their authenticator. The view asks for recent re-authentication first.
    """
    if required:
        raise MfaRequiredError("A second factor is required for this account.")
    totp = TOTPDevice.objects.filter(user=user).delete()[0]
    passkeys = WebAuthnCredential.objects.filter(user=user).delete()[0]
    RecoveryCodeDevice.objects.filter(user=user).delete()
    changes: dict[str, object] = {"method": "totp", "devices": totp}
    if passkeys:
        changes["passkeys"] = passkeys
    record(Action.MFA_REMOVED, target=user, changes=changes)


@transaction.atomic
def organization_mfa_policy_set(
    *,
    organization: Organization,
    policy: str,
    require_passkey_for_admins: bool | None = None,
    passkey_sign_in_allowed: bool | None = None,
) -> bool:
    """Set who in the organization must use a second factor, whether admins and privacy
    officers must use a passkey, and whether members may sign in with a passkey alone
    (None: leave as is). One audit event lists what changed; False when nothing did."""
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    wanted: dict[str, object] = {"mfa_policy": Organization.MfaPolicy(policy).value}
    if require_passkey_for_admins is not None:
        wanted["mfa_require_passkey_for_admins"] = bool(require_passkey_for_admins)
    if passkey_sign_in_allowed is not None:
        wanted["passkey_sign_in_allowed"] = bool(passkey_sign_in_allowed)
    changes = {
        field: [getattr(locked, field), value]
        for field, value in wanted.items()
        if getattr(locked, field) != value
    }
    if not changes:
        return False
    for field, (_, value) in changes.items():
        setattr(locked, field, value)
        setattr(organization, field, value)
    locked.save(update_fields=[*changes, "updated_at"])
    record(
        Action.MFA_POLICY_CHANGED,
        organization=organization,
        target=organization,
        changes=changes,
    )
    return True
