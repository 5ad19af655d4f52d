"""Encryption at rest (k12cloud.encryption): envelope encryption with a key per organization.

Real PostgreSQL, as the runtime role under row-level security. The SSO client secret is the
encrypted column in use today, so it carries most of these tests.
"""

from __future__ import annotations

import base64
from typing import Any, cast

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext, isolate_apps

from accounts.models import Organization, SsoConnection
from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.encryption import keys
from k12cloud.encryption.envelope import NO_MATCH, Sealed, blind_index, seal, unseal
from k12cloud.encryption.fields import BlindIndexField, EncryptedEmailField
from k12cloud.encryption.master_keys import DEVELOPMENT_MASTER_KEYS, parse_master_keys
from k12cloud.encryption.models import OrganizationDataKey
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

SECRET = "google-client-secret-0123456789"
CONTEXT = "accounts_ssoconnection.client_secret"
NEW_MASTER = "m2:" + base64.b64encode(b"n" * 32).decode()

pytestmark = pytest.mark.django_db


def organization(**fields: Any) -> Organization:
    return cast(Organization, OrganizationFactory(**fields))


def sso(org: Organization, secret: str = SECRET, domain: str | None = None) -> SsoConnection:
    with tenant_context(org):
        return SsoConnection.objects.create(
            organization=org,
            provider=SsoConnection.Provider.GOOGLE,
            client_id="client.apps.googleusercontent.com",
            client_secret=secret,
            allowed_domain=domain or f"{org.slug}.example.org",
        )


def raw_secret(connection_row: SsoConnection) -> str:
    with tenant_context(connection_row.organization_id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM accounts_ssoconnection WHERE id = %s", [connection_row.pk]
        )
        return str(cursor.fetchone()[0])


def reload(connection_row: SsoConnection) -> SsoConnection:
    with tenant_context(connection_row.organization_id):
        return SsoConnection.objects.get(pk=connection_row.pk)


def events(action: Action, org: Organization | None = None) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        found = AuditEvent.objects.filter(action=action.value).order_by("pk")
        if org is not None:
            found = found.filter(organization_id=org.pk)
        return list(found)


def key_rows(org: Organization) -> list[OrganizationDataKey]:
    with tenant_context(org):
        return list(OrganizationDataKey.objects.order_by("purpose", "version"))


# --- at rest ----------------------------------------------------------------------------------


def test_the_raw_column_holds_no_plaintext_and_the_model_reads_it() -> None:
    org = organization()
    row = sso(org)
    stored = raw_secret(row)
    assert SECRET not in stored
    assert base64.b64encode(SECRET.encode()).decode()[:12] not in stored
    assert stored.startswith("k12e1:1:")
    assert reload(row).client_secret == SECRET
    # the first use created the data and index keys, with one audit event
    assert [(k.purpose, k.version) for k in key_rows(org)] == [("data", 1), ("index", 1)]
    assert all(SECRET.encode() not in bytes(k.wrapped_key) for k in key_rows(org))
    (created,) = events(Action.KEY_CREATED, org)
    assert created.changes == {"purposes": ["data", "index"], "versions": [1, 1]}


def test_each_save_uses_a_fresh_nonce_and_unread_values_are_stored_unchanged() -> None:
    org = organization()
    row = sso(org)
    first = raw_secret(row)
    loaded = reload(row)
    loaded.enabled = False
    with tenant_context(org):
        loaded.save()  # client_secret never read: the envelope is written back as it was
    assert raw_secret(row) == first
    loaded.client_secret = SECRET
    with tenant_context(org):
        loaded.save()
    assert raw_secret(row) != first
    assert reload(row).client_secret == SECRET


def test_ciphertexts_cannot_be_moved_between_organizations() -> None:
    org_a, org_b = organization(), organization()
    row_a, row_b = sso(org_a, "secret-of-a"), sso(org_b, "secret-of-b")
    envelope_b = raw_secret(row_b)
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_ssoconnection SET client_secret = %s WHERE id = %s",
            [envelope_b, row_a.pk],
        )
    with pytest.raises(keys.DecryptionFailed, match="altered or moved"):
        reload(row_a).client_secret  # noqa: B018
    # and within one organization, a value cannot move to another column
    with tenant_context(org_a):
        envelope = seal(org_a.pk, CONTEXT, "x")
        with pytest.raises(keys.DecryptionFailed):
            unseal(org_a.pk, "accounts_invitation.email", envelope)


def test_lookups_and_bulk_writes_cannot_touch_plaintext() -> None:
    org = organization()
    row = sso(org)
    with pytest.raises(TypeError, match="encrypted"), tenant_context(org):
        SsoConnection.objects.filter(pk=row.pk).update(client_secret="plain")
    with tenant_context(org):
        with pytest.raises(FieldError):
            SsoConnection.objects.filter(client_secret=SECRET).exists()
        assert SsoConnection.objects.filter(client_secret__isnull=False).count() == 1
        (value,) = SsoConnection.objects.values_list("client_secret", flat=True)
    assert isinstance(value, Sealed) and str(value) == "[encrypted]"


def test_decryption_uses_the_rows_organization_even_in_an_all_tenants_context() -> None:
    org = organization()
    row = sso(org)
    with unscoped_all_tenants(reason="test: as the SSO sign-in page"):
        loaded = SsoConnection.objects.get(pk=row.pk)
    # read outside any context, as accounts.sso does when it builds the OAuth client
    assert loaded.client_secret == SECRET


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_keeps_old_rows_readable_then_reencrypts_them() -> None:
    org, other = organization(), organization()
    row, other_row = sso(org), sso(other, "other-secret")
    assert keys.data_key_rotate(organization=org) == 2
    # mid-rotation: the old row is still under v1 and still reads; new writes use v2
    assert raw_secret(row).startswith("k12e1:1:")
    assert reload(row).client_secret == SECRET
    with tenant_context(org):
        assert seal(org.pk, CONTEXT, "new").startswith("k12e1:2:")

    assert keys.data_reencrypt(organization=org, chunk_size=1) == 1
    assert raw_secret(row).startswith("k12e1:2:")
    assert reload(row).client_secret == SECRET
    assert keys.data_reencrypt(organization=org) == 0  # idempotent
    assert raw_secret(other_row).startswith("k12e1:1:")  # other tenants untouched

    versions = {(k.purpose, k.version): k for k in key_rows(org)}
    assert versions[("data", 1)].retired_at is not None
    assert versions[("data", 1)].wrapped_key is not None  # still decrypts restored backups
    assert versions[("data", 2)].retired_at is None
    assert ("index", 2) not in versions  # the index key does not rotate
    (rotated,) = events(Action.KEY_ROTATED, org)
    assert rotated.changes == {"purpose": "data", "version": 2, "previous": 1}


def test_blind_index_normalizes_survives_rotation_and_differs_per_organization() -> None:
    org, other = organization(), organization()
    assert blind_index(org.pk, "Ada@Example.org") == NO_MATCH  # no key yet: nothing indexed
    sso(org), sso(other)
    index = blind_index(org.pk, " Ada@Example.ORG ")
    # a hex digest, never the address: "ada" alone is hex and turned up by chance (1 run in ~70)
    assert len(index) == 64 and set(index) <= set("0123456789abcdef")
    assert "example" not in index and "@" not in index
    assert index == blind_index(org.pk, "ada@example.org")
    assert index != blind_index(other.pk, "ada@example.org")
    assert index != blind_index(org.pk, "bob@example.org")
    keys.data_key_rotate(organization=org)
    assert blind_index(org.pk, "ada@example.org") == index


@isolate_apps("k12cloud")  # kept out of the app registry: other tests must never see it
def test_blind_index_field_is_set_from_the_plaintext_on_save() -> None:
    class IndexedPerson(models.Model):  # noqa: DJ008 (never shown)
        """Test-only (no table): an encrypted email with its blind index."""

        organization_id = models.BigIntegerField()  # what the fields read; no relation needed
        email = EncryptedEmailField()
        email_index = BlindIndexField(source="email", null=True)

        class Meta:
            app_label = "k12cloud"
            managed = False

    org = organization()
    person = IndexedPerson(organization_id=org.pk, email="Ada@Example.org")
    with tenant_context(org):
        sealed = IndexedPerson._meta.get_field("email").pre_save(person, add=True)
        value = IndexedPerson._meta.get_field("email_index").pre_save(person, add=True)
    assert isinstance(sealed, Sealed) and "Ada" not in sealed.envelope
    assert value == person.email_index == blind_index(org.pk, "ada@example.org")
    loaded = IndexedPerson(organization_id=org.pk, email=sealed)
    assert loaded.email == "Ada@Example.org"


# --- preloaded keys and the process cache -----------------------------------------------------


def sealed(org: Organization, secret: str) -> str:
    with tenant_context(org):
        return seal(org.pk, CONTEXT, secret)


def preloaded_read(org: Organization, values: list[str]) -> tuple[list[str], int]:
    """The values, decrypted in a `data_keys_preloaded` block; and the statements sent."""
    with (
        tenant_context(org),
        CaptureQueriesContext(connection) as captured,
        keys.data_keys_preloaded(org.pk),
    ):
        secrets = [unseal(org.pk, CONTEXT, value) for value in values]
    return secrets, len(captured.captured_queries)


def test_preloaded_keys_come_from_the_process_cache_once_committed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    org, other = organization(), organization()
    first, other_value = sealed(org, "first"), sealed(other, "other-secret")
    keys.forget()
    try:
        # the keys are read (one query), and cached only once the transaction commits
        with django_capture_on_commit_callbacks(execute=True):
            assert preloaded_read(org, [first]) == (["first"], 1)
        assert preloaded_read(org, [first]) == (["first"], 0)
        # another organization's keys are not served from this one's
        assert preloaded_read(other, [other_value]) == (["other-secret"], 1)

        # a transaction that rolls back caches nothing
        keys.forget(org.pk)
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            assert preloaded_read(org, [first]) == (["first"], 1)
            raise RuntimeError
        assert preloaded_read(org, [first]) == (["first"], 1)
        with django_capture_on_commit_callbacks(execute=True):
            preloaded_read(org, [first])

        # rotated where this process did not see it (its commit callbacks not run here): a
        # value under the new version reads every version again, once for the whole block
        assert keys.data_key_rotate(organization=org) == 2
        second, third = sealed(org, "second"), sealed(org, "third")
        assert second.startswith("k12e1:2:")
        assert preloaded_read(org, [first, second, third]) == (["first", "second", "third"], 1)

        # rotated by this process: it forgets the versions it had cached, at commit
        with django_capture_on_commit_callbacks(execute=True):
            assert keys.data_key_rotate(organization=org) == 3
        assert preloaded_read(org, [first, second]) == (["first", "second"], 1)

        # destroyed by this process: forgotten at once, the data unreadable
        with django_capture_on_commit_callbacks(execute=True):
            preloaded_read(org, [first])
        assert preloaded_read(org, [first]) == (["first"], 0)
        with django_capture_on_commit_callbacks(execute=True):
            keys.organization_keys_destroy(organization=org)
        with pytest.raises(keys.KeyDestroyed):
            preloaded_read(org, [first])
    finally:
        keys.forget()


# --- master key -------------------------------------------------------------------------------


def test_master_key_rotation_rewraps_every_key_and_the_old_key_can_go() -> None:
    org_a, org_b = organization(), organization()
    row_a, row_b = sso(org_a, "secret-of-a"), sso(org_b, "secret-of-b")
    with override_settings(ENCRYPTION_MASTER_KEYS=f"{NEW_MASTER},{DEVELOPMENT_MASTER_KEYS}"):
        assert keys.master_key_rotate() == 4
        assert keys.master_key_rotate() == 0
    assert {k.master_key_id for k in key_rows(org_a) + key_rows(org_b)} == {"m2"}
    with override_settings(ENCRYPTION_MASTER_KEYS=NEW_MASTER):
        keys.forget()
        assert reload(row_a).client_secret == "secret-of-a"
        assert reload(row_b).client_secret == "secret-of-b"
    keys.forget()
    with pytest.raises(ImproperlyConfigured, match="'m2' is not in ENCRYPTION_MASTER_KEYS"):
        reload(row_a).client_secret  # noqa: B018
    first, second = events(Action.MASTER_KEY_ROTATED)
    assert first.organization_id is None
    assert first.changes == {"master_key_id": "m2", "rewrapped": 4}
    assert second.changes == {"master_key_id": "m2", "rewrapped": 0}


def test_master_key_parsing_names_the_problem_and_never_the_key() -> None:
    secret = base64.b64encode(b"s" * 31).decode()
    cases = {
        "": "required but not set",
        "nocolon": "entry 1 must be id:base64key",
        f"a:{secret}": "'a' must be 32 random bytes",
        "a:not base64!": "'a' is not valid base64",
        f"{NEW_MASTER},{NEW_MASTER}": "names master key 'm2' twice",
    }
    for raw, message in cases.items():
        with pytest.raises(ImproperlyConfigured, match=message) as caught:
            parse_master_keys(raw)
        assert secret not in str(caught.value)
    parsed = parse_master_keys(f"{NEW_MASTER},{DEVELOPMENT_MASTER_KEYS}")
    assert parsed.current_id == "m2" and "nnnn" not in repr(parsed)


# --- destruction ------------------------------------------------------------------------------


def test_destroy_makes_the_data_unreadable_and_is_audited_once() -> None:
    org, other = organization(slug="shredded"), organization()
    row, other_row = sso(org), sso(other, "other-secret")
    stored = raw_secret(row)
    call_command(
        "encryption_keys", "destroy", "--organization", "shredded", "--confirm", "shredded"
    )

    assert raw_secret(row) == stored  # a copy of the row (a backup) stays ciphertext
    with pytest.raises(keys.KeyDestroyed, match="destroyed"):
        reload(row).client_secret  # noqa: B018
    assert all(k.wrapped_key is None and k.destroyed_at for k in key_rows(org))
    with tenant_context(org), pytest.raises(keys.KeyDestroyed):
        seal(org.pk, CONTEXT, "nothing new either")
    loaded = reload(row)
    loaded.enabled = False
    with tenant_context(org):
        loaded.save()  # other columns stay editable; the unreadable value is kept as it is
    assert reload(other_row).client_secret == "other-secret"
    (destroyed,) = events(Action.KEY_DESTROYED, org)
    assert destroyed.changes == {"purposes": ["data", "index"], "versions": 2}
    assert destroyed.actor_label == "manage.py encryption_keys destroy"
    with pytest.raises(CommandError, match="destroyed"):
        call_command(
            "encryption_keys", "destroy", "--organization", "shredded", "--confirm", "shredded"
        )
    assert len(events(Action.KEY_DESTROYED, org)) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["destroy", "--organization", "nope", "--confirm", "nope"], "--organization: no org"),
        (["destroy", "--organization", "acme", "--confirm", "acm"], "--confirm must repeat"),
        (["destroy", "--organization", "acme", "--confirm", "acme"], "has no encryption keys"),
        (["rotate", "--organization", "nope"], "--organization: no organization"),
        (["rotate", "--all", "--chunk-size", "0"], "--chunk-size must be at least 1"),
    ],
)
def test_command_errors_name_the_bad_argument(arguments: list[str], message: str) -> None:
    organization(slug="acme")
    with pytest.raises(CommandError, match=message):
        call_command("encryption_keys", *arguments)
    assert events(Action.KEY_DESTROYED) == []


def test_rotate_command_for_all_organizations(capsys: Any) -> None:
    org = organization(slug="with-keys")
    organization(slug="without-keys")
    row = sso(org)
    call_command("encryption_keys", "rotate", "--all")
    out = capsys.readouterr().out
    assert "with-keys: now data key v2; 1 row(s) re-encrypted." in out
    assert "without-keys: no keys yet, nothing to rotate." in out
    assert raw_secret(row).startswith("k12e1:2:")
    assert len(events(Action.KEY_ROTATED, org)) == 1


# --- tenant isolation of the keys ---------------------------------------------------------------


@pytest.mark.parametrize("application_scoping", [True, False])
def test_an_organization_cannot_see_another_organizations_keys(application_scoping: bool) -> None:
    org_a, org_b = organization(), organization()
    sso(org_a)
    with override_settings(TENANCY_APPLICATION_SCOPING=application_scoping):
        with tenant_context(org_b):
            assert not OrganizationDataKey.objects.filter(organization_id=org_a.pk).exists()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM k12cloud_organizationdatakey")
                assert cursor.fetchone()[0] == 0
        with tenant_context(org_a):
            assert OrganizationDataKey.objects.count() == 2


def test_models_fields_are_registered_for_reencryption() -> None:
    found = {
        model._meta.label: [f.name for f in fields] for model, fields in keys.encrypted_fields()
    }
    assert found["accounts.SsoConnection"] == ["client_secret"]
    assert isinstance(SsoConnection._meta.get_field("client_secret"), models.TextField)
