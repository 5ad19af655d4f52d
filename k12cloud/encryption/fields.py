"""Model fields for personal data: `EncryptedTextField`, `EncryptedEmailField`, `BlindIndexField`.

Use on tenant-owned models (the row's organization picks the key):

    email = EncryptedEmailField(_("email address"))
    email_index = BlindIndexField(source="email")      # filter(email_index=blind_index(...))

Writing: `save()` encrypts in `pre_save` with the row's own organization. `QuerySet.update()`,
`bulk_update()` and fixtures cannot (they have no row): passing plaintext there raises
TypeError rather than storing it.
Reading: the database value loads as an opaque `Sealed` envelope and is decrypted on first
attribute access, with the row's own `organization_id` (not the tenant context, which may be
an all-tenants context or another organization in ops tooling). Columns never read are never
decrypted; `values()`/`values_list()` return `Sealed` objects. After the organization's keys
are destroyed, access raises `KeyDestroyed`, never garbage.
Lookups other than `isnull` are refused: the column is ciphertext; use a blind index.
"""

from __future__ import annotations

from typing import Any

from django.core import validators
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from k12cloud.encryption.envelope import Sealed, blind_index, seal, unseal


class EncryptedAttribute(DeferredAttribute):
    """Decrypts on first access and keeps the plaintext on the instance."""

    field: EncryptedTextField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.open(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # a data descriptor, so that __get__ runs even when the value is in __dict__
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    descriptor_class = EncryptedAttribute
    description = "Text encrypted with the organization's data key"

    def __init__(self, *args: Any, organization_field: str = "organization", **kwargs: Any):
        self.organization_field = organization_field
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.organization_field != "organization":
            kwargs["organization_field"] = self.organization_field
        return name, path, args, kwargs

    @property
    def context(self) -> str:
        """Bound into each ciphertext: renaming the table or column needs a re-encryption."""
        return f"{self.model._meta.db_table}.{self.column}"

    def organization_id_of(self, instance: models.Model) -> int:
        organization_id = getattr(instance, f"{self.organization_field}_id", None)
        if organization_id is None:
            raise ValueError(
                f"{self.model._meta.label}.{self.name} needs the row's organization to encrypt."
            )
        return int(organization_id)

    # --- encrypting and decrypting ---

    def open(self, instance: models.Model, sealed: Sealed) -> str:
        return unseal(self.organization_id_of(instance), self.context, sealed.envelope)

    def needs_reseal(self, instance: models.Model, version: int) -> bool:
        raw = instance.__dict__.get(self.attname)
        return isinstance(raw, Sealed) and raw.key_version != version

    def reseal(self, instance: models.Model, version: int) -> Sealed:
        """The value re-encrypted under the current key (data_reencrypt)."""
        plaintext = getattr(instance, self.attname)
        return Sealed(seal(self.organization_id_of(instance), self.context, plaintext))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        raw = model_instance.__dict__.get(self.attname)
        if raw is None or isinstance(raw, Sealed):
            return raw  # untouched since it was loaded: stored as it is
        return Sealed(seal(self.organization_id_of(model_instance), self.context, str(raw)))

    # --- the database boundary ---

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Sealed):
            return value
        raise TypeError(
            f"{self.model._meta.label}.{self.name} is encrypted: set it on the instance and "
            "save(); update(), bulk_update() and lookups cannot encrypt."
        )

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return value.envelope if isinstance(value, Sealed) else value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # FieldError: "Unsupported lookup"
        return super().get_lookup(lookup_name)

    def get_transform(self, name: str) -> Any:
        return None

    def value_to_string(self, obj: models.Model) -> str:
        return "[encrypted]"  # serializers and dumpdata never export plaintext


class EncryptedEmailField(EncryptedTextField):
    default_validators = [validators.validate_email]
    description = "Email address encrypted with the organization's data key"

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return super().formfield(**{"form_class": forms.EmailField, "widget": None, **kwargs})


class BlindIndexField(models.CharField):
    """HMAC of another field's normalized plaintext, set on save, for equality lookups.

    Look rows up with `filter(<name>=blind_index(organization_id, value))`.
    """

    description = "Keyed hash of an encrypted field, for lookups"

    def __init__(self, *args: Any, source: str, kind: str = "email", **kwargs: Any):
        self.source = source
        self.kind = kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.kind != "email":
            kwargs["kind"] = self.kind
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        source = model_instance._meta.get_field(self.source)
        if not isinstance(source, EncryptedTextField):
            raise TypeError(f"{self.name}: source {self.source!r} is not an encrypted field.")
        raw = model_instance.__dict__.get(source.attname)
        if isinstance(raw, str):  # set (or decrypted) on this instance: index what is saved
            organization_id = source.organization_id_of(model_instance)
            value = blind_index(organization_id, raw, kind=self.kind, create=True)
            setattr(model_instance, self.attname, value)
            return value
        if raw is None and self.null:
            setattr(model_instance, self.attname, None)
            return None
        return getattr(model_instance, self.attname)
