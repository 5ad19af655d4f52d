"""Organizations (the tenants), users and their memberships."""

from __future__ import annotations

import hashlib
import ipaddress
import zoneinfo
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Role
from k12cloud import tenancy
from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.models import TenantManager, TenantOwnedModel


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


def validate_network(value: str) -> None:
    """An IPv4 or IPv6 network in CIDR notation (a bare address means a single host)."""
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValidationError(
            _("%(value)s is not an IPv4 or IPv6 address or network (CIDR, e.g. 203.0.113.0/24)."),
            params={"value": value},
        ) from None


class Organization(models.Model):
    """A tenant: a school district, an EdTech vendor, or k-12.cloud itself (platform).

    Not tenant-owned itself: it is the registry the tenant context points into, and it holds
    nothing personal.
    """

    class Kind(models.TextChoices):
        PLATFORM = "platform", _("Platform")
        DISTRICT = "district", _("School district")
        VENDOR = "vendor", _("EdTech vendor")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        TERMINATED = "terminated", _("Terminated")

    class DataRegion(models.TextChoices):
        US = "US", _("United States")
        CA = "CA", _("Canada")

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    country = models.CharField(max_length=2, default="US", help_text=_("ISO 3166-1 alpha-2"))
    subdivision = models.CharField(
        max_length=3, blank=True, help_text=_("State or province code, e.g. CA, NY, ON, QC")
    )
    data_region = models.CharField(max_length=2, choices=DataRegion.choices, default=DataRegion.US)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    terminated_at = models.DateTimeField(null=True, blank=True)
    deletion_requested_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the customer's written deletion request arrived")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # --- Security settings, edited by the organization's admins -----------------------------
    class MfaPolicy(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        PRIVILEGED = "privileged", _("Admins and privacy roles")
        NOBODY = "nobody", _("No one")

    class AllowlistScope(models.TextChoices):
        ADMINS = "admins", _("Organization admins only")
        EVERYONE = "everyone", _("Every role")

    mfa_policy = models.CharField(
        max_length=16, choices=MfaPolicy.choices, default=MfaPolicy.PRIVILEGED
    )
    # Organization admins and privacy officers must sign in with a passkey or security key
    # (WebAuthn, phishing-resistant): an authenticator app's code is not enough for them.
    mfa_require_passkey_for_admins = models.BooleanField(default=False)
    # Members may sign in with a passkey alone (no password): the passkey proves possession and
    # the authenticator's PIN or biometric check stands in for the password.
    passkey_sign_in_allowed = models.BooleanField(default=False)
    # Empty means no restriction. Networks are stored normalized (ipaddress.ip_network).
    ip_allowlist = ArrayField(
        models.CharField(max_length=49, validators=[validate_network]), default=list, blank=True
    )
    ip_allowlist_scope = models.CharField(
        max_length=16, choices=AllowlistScope.choices, default=AllowlistScope.ADMINS
    )
    session_idle_timeout_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    session_absolute_timeout_hours = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    # --- requester email (privacy_requests.contact) ---
    # Where requesters' replies go: the Reply-To of every email to a requester. The address of
    # the privacy office (a role mailbox), not a requester's: plain text, shown on public pages.
    # Empty: requester emails carry no Reply-To (replies reach the unread sending address, and
    # the emails and pages say so).
    privacy_contact_email = models.EmailField(_("privacy contact email"), blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="organization_terminated_at_matches_status",
                condition=(
                    models.Q(status="terminated", terminated_at__isnull=False)
                    | models.Q(status="active", terminated_at__isnull=True)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """An Authorized User. Email is the login; there are no usernames.

    Platform-level, not tenant-owned: one person may belong to several organizations, with a
    role in each (see Membership). `is_staff` marks k-12.cloud ops staff (Django admin).
    """

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text=_("k-12.cloud ops staff: may use the Django admin.")
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class MembershipManager(TenantManager):
    def of_user(self, user_id: int) -> models.QuerySet[Membership]:
        """A user's own memberships across organizations (the organization switcher).

        Allowed without an organization context only for the signed-in user of the current
        context: row-level security has a matching policy on `user_id`.
        """
        state = tenancy.current()
        if not state.all_tenants and state.user_id != user_id:
            raise tenancy.TenantMismatch("Only the signed-in user's memberships can be listed.")
        return models.Manager.get_queryset(self).filter(user_id=user_id)


class Membership(TenantOwnedModel):
    """A user's place in one organization, with one role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships", editable=False
    )
    # Indexed on its own: "my organizations" is read by user across tenants (RLS allows it).
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[MembershipManager] = MembershipManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_one_per_user_and_organization"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organization_id}"


# --- Invitations ------------------------------------------------------------------------------


class Invitation(TenantOwnedModel):
    """An admin's invitation of an email address to join the organization with a role.

    The emailed link carries a random secret; only its SHA-256 (`token_hash`) is stored, so a
    database reader cannot accept invitations. A link works once, until `expires_at`.
    Services: accounts.services.members (invitation_create, _revoke, _accept).
    """

    VALID_FOR = timedelta(days=7)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invitations", editable=False
    )
    email = models.EmailField(_("email address"))  # stored lowercased
    role = models.CharField(max_length=32, choices=Role.choices)
    # Unique on its own, not led by organization: the public link is looked up across tenants
    # (the visitor has no organization yet), and a hash collision across tenants must not pass.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # no indexes of their own: they are read only through the invitation (see test_architecture)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # re-inviting revokes the open invitation first (invitation_create)
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
            models.CheckConstraint(
                name="invitation_accepted_or_revoked_not_both",
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="invitation_org_created"),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} as {self.role} at {self.organization_id}"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.is_open and (now or timezone.now()) < self.expires_at


# --- Integrations: API keys -------------------------------------------------------------------


class ApiKey(TenantOwnedModel):
    """An organization's credential for integrations, acting with one role.

    The token (`k12_<prefix>_<secret>`) is shown once when the key is created; only the
    SHA-256 of its secret is stored. The secret has 256 bits of entropy, so a fast hash is as
    safe as a password hash here, and cheap enough to check on every request.
    The key belongs to the organization, not to the admin who made it: it keeps working when
    they leave, until an admin revokes it. Services: accounts.api_keys.
    """

    TOKEN_PREFIX = "k12"  # noqa: S105 (the public start of every token, not a secret)
    # last_used_at is written at most this often, not on every request
    LAST_USED_RESOLUTION = timedelta(minutes=1)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="api_keys", editable=False
    )
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    # Public and unique on its own, not led by organization: a request's key is looked up by
    # its prefix before its organization is known (accounts.api_keys.api_key_authenticate).
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    # no index of its own: read only through the key (see test_architecture)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="apikey_org_created"),
        ]

    def __str__(self) -> str:
        return f"API key {self.prefix} at {self.organization_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or timezone.now()) >= self.expires_at

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_usable(self, now: datetime | None = None) -> bool:
        return not self.is_revoked and not self.is_expired(now)


# Recovery codes and passkeys (MFA) live in their own module; importing them registers the models.
from accounts.mfa.models import (  # noqa: E402, F401
    RecoveryCode,
    RecoveryCodeDevice,
    WebAuthnCredential,
)

# Sessions (sign-in protection) live in their own module; importing them registers the model.
from accounts.security.models import UserSession  # noqa: E402, F401

# --- Integrations: single sign-on ---------------------------------------------------------------


def validate_domain(value: str) -> None:
    labels = value.split(".")
    if (
        len(labels) < 2
        or len(value) > 253
        or not all(label and len(label) <= 63 for label in labels)
        or not all(c.isalnum() or c in "-." for c in value)
    ):
        raise ValidationError(
            _("%(value)s is not a domain name (e.g. lincolnusd.org)."), params={"value": value}
        )


class SsoConnection(TenantOwnedModel):
    """An organization's single sign-on through its identity provider (allauth providers).

    Members whose email address is at `allowed_domain` sign in at /accounts/sso/ through the
    organization's own OAuth client (accounts.sso). Only existing users with an active
    membership here may sign in; nobody is signed up.
    The client secret is encrypted at rest with the organization's data key.
    """

    class Provider(models.TextChoices):
        GOOGLE = "google", _("Google Workspace")
        MICROSOFT = "microsoft", _("Microsoft Entra ID")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="sso_connections", editable=False
    )
    provider = models.CharField(_("identity provider"), max_length=16, choices=Provider.choices)
    client_id = models.CharField(_("client ID"), max_length=255)
    # encrypted at rest with the organization's data key (k12cloud.encryption)
    client_secret = EncryptedTextField(_("client secret"), max_length=500)
    # the Entra ID directory (tenant) id: only its accounts can sign in
    tenant_id = models.CharField(_("directory (tenant) ID"), max_length=64, blank=True)
    # Unique on its own, not led by organization: the sign-in page finds the connection by the
    # domain of the email address typed in, before any organization is known. Stored lowercased.
    allowed_domain = models.CharField(
        _("allowed email domain"), max_length=253, unique=True, validators=[validate_domain]
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="sso_one_per_organization"),
            models.CheckConstraint(
                name="sso_entra_needs_tenant_id",
                condition=~models.Q(provider="microsoft") | ~models.Q(tenant_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"SSO {self.provider} at {self.organization_id}"
