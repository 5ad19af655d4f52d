"""Every tenant-owned model is declared, and every text-like field of it is named once: a new
personal field cannot slip past the de-identification engine."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from k12cloud.encryption.fields import BlindIndexField, EncryptedTextField
from k12cloud.models import TenantOwnedModel
from retention import declarations
from retention.declarations import DECLARATIONS, declaration_for
from retention.policy import KEPT_AFTER_TERMINATION, Category

TEXT_LIKE = (
    models.CharField,
    models.TextField,
    models.JSONField,
    models.BinaryField,
    models.GenericIPAddressField,
)


def tenant_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwnedModel) and not m._meta.proxy and m._meta.managed
    ]


def test_every_tenant_owned_model_has_a_declaration() -> None:
    missing = [m._meta.label for m in tenant_models() if declaration_for(m._meta.label) is None]
    assert missing == [], f"declare these in retention/declarations.py: {missing}"


def test_every_text_like_field_is_declared_exactly_once() -> None:
    problems = []
    for model in tenant_models():
        declaration = declaration_for(model._meta.label)
        assert declaration is not None
        declared = declaration.declared
        duplicates = {name for name in declared if declared.count(name) > 1}
        if duplicates:
            problems.append(f"{model._meta.label}: declared twice: {sorted(duplicates)}")
        names = {f.name for f in model._meta.concrete_fields if isinstance(f, TEXT_LIKE)}
        if undeclared := names - set(declared):
            problems.append(f"{model._meta.label}: undeclared fields {sorted(undeclared)}")
        if unknown := set(declared) - {f.name for f in model._meta.concrete_fields}:
            problems.append(f"{model._meta.label}: no such fields {sorted(unknown)}")
    assert problems == []


def test_encrypted_fields_and_blind_indexes_are_never_simply_kept() -> None:
    """Encrypted values go with the key anyway; still, removing them keeps a de-identified row
    readable while the key lives (and blind indexes are keyed hashes of personal values)."""
    kept_personal = []
    financial = declarations.financial_record_labels()
    for declaration in DECLARATIONS:
        if declaration.engine_skips or declaration.model in financial:
            continue
        model = apps.get_model(declaration.model)
        for name in declaration.keep:
            field = model._meta.get_field(name)
            if isinstance(field, EncryptedTextField | BlindIndexField):
                kept_personal.append(f"{declaration.model}.{name}")
    assert kept_personal == []


def test_billing_models_are_declared_as_financial_records() -> None:
    """Billing is built in parallel: its models must be declared here, under the kept
    financial-records category, and agree with billing.retention once it exists."""
    billing_models = [m._meta.label for m in tenant_models() if m._meta.app_label == "billing"]
    assert billing_models, "billing models are expected"
    for label in billing_models:
        declaration = declaration_for(label)
        assert declaration is not None and declaration.category == Category.BILLING_RECORDS
    assert Category.BILLING_RECORDS in KEPT_AFTER_TERMINATION
    financial = declarations.financial_record_labels()
    assert financial <= set(billing_models)
    for label in financial:  # kept as they are: the engine changes none of their fields
        declaration = declaration_for(label)
        assert declaration is not None
        assert not (declaration.remove or declaration.replace or declaration.generalize_year)
    # billing contacts are personal data, not financial records
    assert "billing.BillingContact" not in financial
    assert declaration_for("billing.BillingContact").remove  # type: ignore[union-attr]
