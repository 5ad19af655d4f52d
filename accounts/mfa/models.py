"""Recovery codes as a django-otp device, so `is_verified()` and `devices_for_user` see them.

Codes are random and high-entropy (about 59 bits each), so a fast hash is enough: nobody can
guess one from its SHA-256 digest. Only digests are stored; the codes are shown once. Wrong
guesses back off exactly as wrong authenticator codes do (django-otp's ThrottlingMixin, with
the TOTP device's factor), and accounts.mfa.services refuses every code while either of the
user's devices is backing off.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

# No look-alike characters (0/o, 1/l/i), so codes read from paper are typed back correctly.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 12  # shown as three groups of four: abcd-efgh-jkmn


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def recovery_code_digest(code: str) -> str:
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A user's set of single-use recovery codes (at most one device per user)."""

    # no reverse accessor on User: read through this model (and devices_for_user)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The user that this device belongs to.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        app_label = "accounts"
        constraints = [
            models.UniqueConstraint(fields=["user"], name="recovery_code_device_one_per_user")
        ]

    def get_throttle_factor(self) -> int:
        # the authenticator's factor: a recovery code is no cheaper to guess at than a TOTP code
        factor: int = getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)
        return factor

    def verify_token(self, token: str) -> bool:
        """Consume the matching code. Call inside a transaction, on a row locked for update.

        Refused without looking while backing off after wrong codes; a wrong code lengthens
        the back-off (1, 2, 4, 8... seconds), a right one ends it.
        """
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = recovery_code_digest(token)
        match = None
        # constant-time comparison against every remaining code (there are at most ten)
        for code in self.codes.order_by("pk"):
            if hmac.compare_digest(code.digest, digest):
                match = code
        if match is None:
            self.throttle_increment(commit=True)
            return False
        match.delete()
        self.throttle_reset(commit=True)
        return True


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)  # hex SHA-256 of the normalized code

    class Meta:
        app_label = "accounts"
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of device {self.device_id}"  # never the digest


class WebAuthnCredential(Device):
    """A passkey or security key (WebAuthn public-key credential) as a django-otp device.

    Signing in with it marks the session verified like any device (`django_otp.login`), so
    `is_verified()`, the enforcement middleware and the ops admin need nothing new. It has no
    token to type: `verify_token` always refuses, and the ceremony lives in
    accounts.mfa.passkeys. Only public material is stored: the credential id, its COSE public
    key and the authenticator's signature counter.
    """

    # no reverse accessor on User: read through this model (and devices_for_user)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The user that this device belongs to.",
    )
    # base64url of the raw credential id (at most 1023 bytes by the WebAuthn spec)
    credential_id = models.CharField(max_length=1366, unique=True)
    public_key = models.BinaryField()  # COSE_Key, as the authenticator gave it
    sign_count = models.PositiveBigIntegerField(default=0)
    # The WebAuthn user handle this credential was created under: random, the same for all of
    # a user's credentials, never the email or the primary key (authenticators may show it).
    user_handle = models.CharField(max_length=88)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)  # the authenticator model, if told
    backed_up = models.BooleanField(default=False)  # synced passkey (e.g. a password manager)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "accounts"
        indexes = [models.Index(fields=["user"], name="webauthn_credential_user")]

    def __str__(self) -> str:
        return f"passkey {self.pk} of user {self.user_id}"

    def verify_token(self, token: str) -> bool:
        return False  # a WebAuthn assertion is not a typed token (accounts.mfa.passkeys)
