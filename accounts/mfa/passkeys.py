"""Passkeys and security keys (WebAuthn): the ceremonies and every write about them.

Built on Duo's py_webauthn (`webauthn`), which checks attestations and assertions and nothing
else; storage, policy and audit are ours. A credential is a django-otp device
(`WebAuthnCredential`), so signing in with it verifies the session like an authenticator app.

A ceremony has two halves. `*_options` makes a random challenge and the browser's options; the
view keeps the challenge in the session (`PendingChallenge`) and takes it out before verifying,
so each challenge is checked at most once and expires after CHALLENGE_TTL. The `passkey_*`
services verify what the browser sent against it, the relying party id and the allowed origins
(`relying_party()`), and write, audited in the same transaction.

Clone detection: an authenticator that keeps a signature counter must present a larger one
each time. A counter that does not grow means two copies of the key exist: the assertion is
refused and `mfa.passkey_clone_suspected` is recorded. Synced passkeys report 0 and are exempt.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.mfa.models import WebAuthnCredential
from accounts.models import User
from audit.actions import Action
from audit.services import record

CHALLENGE_TTL_SECONDS = 5 * 60
PASSKEY_NAME_MAX_LENGTH = 64
MAX_CREDENTIAL_JSON = 64 * 1024  # a real response is a few kilobytes


class PasskeyError(Exception):
    """The browser's response was refused; `str(error)` is safe to show the user.

    Raised before anything is written. Services that audit a failure return it in their
    result instead of raising, so the audit event is not rolled back with the exception.
    """


class PasskeyRequiredError(Exception):
    """Removing this passkey would leave the account without a factor its policy requires."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: list[str]


def relying_party() -> RelyingParty:
    """The relying party id and allowed origins: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, or, when
    unset, the host and origin of PORTAL_BASE_URL."""
    base = urlsplit(settings.PORTAL_BASE_URL)
    rp_id = settings.WEBAUTHN_RP_ID or base.hostname or "localhost"
    origins = list(settings.WEBAUTHN_ORIGINS) or [f"{base.scheme}://{base.netloc}"]
    return RelyingParty(id=rp_id, name=settings.WEBAUTHN_RP_NAME, origins=origins)


@dataclass(frozen=True)
class PendingChallenge:
    """What the session keeps between a ceremony's two halves (JSON-serializable)."""

    purpose: str  # "register", "verify" or "sign_in"
    challenge: str  # base64url
    issued_at: float
    user_handle: str = ""

    def as_session_value(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "challenge": self.challenge,
            "issued_at": self.issued_at,
            "user_handle": self.user_handle,
        }

    @classmethod
    def from_session_value(cls, value: object, *, purpose: str) -> PendingChallenge:
        """The stored challenge, or PasskeyError when there is none, it is for another
        ceremony, or it has expired."""
        if not isinstance(value, dict) or value.get("purpose") != purpose:
            raise PasskeyError(_("No passkey request is pending. Start again."))
        pending = cls(
            purpose=purpose,
            challenge=str(value.get("challenge", "")),
            issued_at=float(value.get("issued_at", 0)),
            user_handle=str(value.get("user_handle", "")),
        )
        if time.time() - pending.issued_at > CHALLENGE_TTL_SECONDS:
            raise PasskeyError(_("The passkey request expired. Start again."))
        return pending


def _descriptor(credential: WebAuthnCredential) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in credential.transports:
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:
            continue  # a transport this library does not know: leave it out
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential.credential_id), transports=transports or None
    )


def _user_handle(user: User) -> str:
    """The user's WebAuthn user handle: the one their passkeys share, or a new random one."""
    existing = (
        WebAuthnCredential.objects.filter(user=user)
        .order_by("pk")
        .values_list("user_handle", flat=True)
        .first()
    )
    return existing or bytes_to_base64url(secrets.token_bytes(32))


def registration_options(*, user: User) -> tuple[str, PendingChallenge]:
    """Options for navigator.credentials.create() (JSON) and the challenge to keep.

    Asks for a discoverable credential (so it can also sign in without a password where the
    organization allows it) and user verification when the authenticator can; excludes the
    user's existing credentials so one authenticator is not registered twice.
    """
    rp = relying_party()
    handle = _user_handle(user)
    existing = WebAuthnCredential.objects.filter(user=user).order_by("pk")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=base64url_to_bytes(handle),
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(c) for c in existing],
        timeout=CHALLENGE_TTL_SECONDS * 1000,
    )
    pending = PendingChallenge(
        purpose="register",
        challenge=bytes_to_base64url(options.challenge),
        issued_at=time.time(),
        user_handle=handle,
    )
    return options_to_json(options), pending


def authentication_options(*, user: User | None) -> tuple[str, PendingChallenge]:
    """Options for navigator.credentials.get() (JSON) and the challenge to keep.

    With a user (the second step after the password): their credentials are listed. Without
    (password-less sign-in): none are, the browser offers its discoverable passkeys for this
    site, and user verification is required.
    """
    rp = relying_party()
    allowed = (
        [_descriptor(c) for c in WebAuthnCredential.objects.filter(user=user).order_by("pk")]
        if user is not None
        else []
    )
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=allowed,
        user_verification=(
            UserVerificationRequirement.PREFERRED
            if user is not None
            else UserVerificationRequirement.REQUIRED
        ),
        timeout=CHALLENGE_TTL_SECONDS * 1000,
    )
    pending = PendingChallenge(
        purpose="verify" if user is not None else "sign_in",
        challenge=bytes_to_base64url(options.challenge),
        issued_at=time.time(),
    )
    return options_to_json(options), pending


def _parse(credential_json: str) -> dict[str, Any]:
    if not credential_json or len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyError(_("The browser sent no passkey response. Try again."))
    try:
        parsed = json.loads(credential_json)
    except (ValueError, RecursionError):
        raise PasskeyError(_("The browser's passkey response could not be read.")) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        raise PasskeyError(_("The browser's passkey response could not be read."))
    return parsed


@dataclass(frozen=True)
class PasskeyRegistration:
    device: WebAuthnCredential | None
    error: str = ""  # for the user, when `device` is None


@transaction.atomic
def passkey_register(
    *, user: User, name: str, credential_json: str, pending: PendingChallenge
) -> PasskeyRegistration:
    """Verify the browser's attestation and store the new passkey; audited.

    Any attestation format is accepted ('none' included): the portal trusts the user's choice
    of authenticator, and the phishing resistance comes from the origin binding, which every
    format has. A response that cannot be read raises PasskeyError; one that fails
    verification is audited and returned with an error.
    """
    name = name.strip()[:PASSKEY_NAME_MAX_LENGTH]
    parsed = _parse(credential_json)
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(pending.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        record(
            Action.MFA_VERIFICATION_FAILED,
            target=user,
            changes={"method": "passkey", "stage": "enrolment", "error": type(error).__name__},
        )
        return PasskeyRegistration(None, _("The passkey could not be verified. Try again."))
    credential_id = bytes_to_base64url(verified.credential_id)
    if WebAuthnCredential.objects.filter(credential_id=credential_id).exists():
        return PasskeyRegistration(None, _("This passkey is already registered."))
    response = parsed.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    device = WebAuthnCredential.objects.create(
        user=user,
        name=name,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=pending.user_handle or _user_handle(user),
        transports=[t for t in transports if isinstance(t, str)][:8]
        if isinstance(transports, list)
        else [],
        aaguid=verified.aaguid,
        backed_up=verified.credential_backed_up,
    )
    record(
        Action.MFA_PASSKEY_REGISTERED,
        target=user,
        changes={
            "passkey_id": device.pk,
            "backed_up": device.backed_up,
            "user_verified": verified.user_verified,
        },
    )
    return PasskeyRegistration(device)


@dataclass(frozen=True)
class PasskeyAssertion:
    device: WebAuthnCredential | None
    error: str = ""  # for the user, when `device` is None
    user_verified: bool = False


@transaction.atomic
def passkey_authenticate(
    *, user: User | None, credential_json: str, pending: PendingChallenge
) -> PasskeyAssertion:
    """Verify an assertion from navigator.credentials.get(); returns the passkey that signed.

    With `user` (the second step after a password) the credential must be theirs. Without
    (password-less sign-in) it is found by its id, and the authenticator must have verified the
    user (PIN or biometric). Failures are audited against the user when one is known and
    returned with an error; a signature counter that did not grow is refused as a suspected
    clone. A response that cannot be read raises PasskeyError.
    """
    parsed = _parse(credential_json)
    stage = "sign_in" if user is not None else "passwordless_sign_in"
    device = (
        WebAuthnCredential.objects.select_for_update()
        .filter(credential_id=parsed["id"], confirmed=True)
        .first()
    )
    if device is None or (user is not None and device.user_id != user.pk):
        if user is not None:
            record(
                Action.MFA_VERIFICATION_FAILED,
                target=user,
                changes={"method": "passkey", "stage": stage, "reason": "unknown_credential"},
            )
        return PasskeyAssertion(None, _("This passkey is not registered to your account."))
    rp = relying_party()
    try:
        # the counter is checked below, after the signature, so a forged response cannot
        # raise a clone alarm
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(pending.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=bytes(device.public_key),
            credential_current_sign_count=0,
            require_user_verification=user is None,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        record(
            Action.MFA_VERIFICATION_FAILED,
            target=device.user,
            changes={"method": "passkey", "stage": stage, "reason": "invalid_assertion"},
        )
        return PasskeyAssertion(None, _("The passkey could not be verified. Try again."))
    new_count = verified.new_sign_count
    if (new_count or device.sign_count) and new_count <= device.sign_count:
        record(
            Action.MFA_PASSKEY_CLONE_SUSPECTED,
            target=device.user,
            changes={
                "passkey_id": device.pk,
                "stored_sign_count": device.sign_count,
                "presented_sign_count": new_count,
            },
        )
        return PasskeyAssertion(
            None,
            _(
                "This passkey's signature counter went backwards, which happens when a key "
                "has been copied. It was refused: use another passkey and tell your "
                "administrator."
            ),
        )
    device.sign_count = new_count
    device.last_used_at = timezone.now()
    device.backed_up = verified.credential_backed_up
    device.save(update_fields=["sign_count", "last_used_at", "backed_up"])
    return PasskeyAssertion(device, user_verified=verified.user_verified)


@transaction.atomic
def passkey_remove(
    *, user: User, passkey_id: int, passkey_required: bool, mfa_required: bool
) -> bool:
    """Remove one of the user's passkeys; False when they have no such passkey. Audited.

    Refused (PasskeyRequiredError) when it is the last passkey and the user's organization
    requires one, or when it is the user's last second factor and MFA is required. The view
    asks for recent re-authentication first.
    """
    credentials = list(
        WebAuthnCredential.objects.select_for_update().filter(user=user).order_by("pk")
    )
    target = next((c for c in credentials if c.pk == passkey_id), None)
    if target is None:
        return False
    others = len(credentials) - 1
    if passkey_required and others == 0:
        raise PasskeyRequiredError(_("Your organization requires a passkey for your role."))
    if (
        mfa_required
        and others == 0
        and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    ):
        raise PasskeyRequiredError(_("Your organization requires two-step verification."))
    target.delete()
    record(
        Action.MFA_PASSKEY_REMOVED,
        target=user,
        changes={"passkey_id": passkey_id, "remaining": others},
    )
    return True
