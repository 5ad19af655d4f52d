"""A complete ops admin (issue #16, item 11): the seeded ops user, signed in through the portal
and the second step, opens every page of the admin and each one's first object; records are
read-only; the index lists every app; docs/ops-admin.md and docs/notifications.md name the
pages that exist, and every page is named."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.ops_staff import OPS_GROUP
from billing.models import Invoice
from k12cloud.notifications.models import TaskRun
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PATH = re.compile(r"/admin/(\w+)/(\w+)/")
# the records: nobody adds, changes or deletes them here
READ_ONLY = {
    "audit.auditevent",
    "audit.auditcheckpoint",
    "notifications.outboundemail",
    "notifications.notification",
    "notifications.taskrun",
    "retention.retentionrun",
    "retention.legalhold",
    "retention.deidentificationcertificate",
    "billing.invoice",
    "billing.subscription",
    "billing.stripeevent",
    "otp_totp.totpdevice",
}


def label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def registered() -> list[type[Model]]:
    return sorted(admin.site._registry, key=label)


def changelist(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.fixture
def ops_client() -> Client:
    """The demo's ops user, signed in as ops staff do: the portal's form, then a TOTP code."""
    call_command("seed_demo", stdout=StringIO())  # the demo data, as `make run` has it
    ops = User.objects.get(email="ops@k12.cloud")
    assert ops.is_staff and not ops.is_superuser
    assert list(ops.groups.values_list("name", flat=True)) == [OPS_GROUP]
    TaskRun.objects.create(name="notifications.relay_outbox", ok=True, result="0 sent")
    device = TOTPDevice.objects.create(user=ops, name="Authenticator app")
    client = Client()
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": ops.email, "password": os.environ.get("DEMO_PASSWORD", "k12cloud-demo")},
        follow=True,
    )
    verify_url = response.redirect_chain[-1][0]
    assert verify_url.startswith("/accounts/mfa/verify/"), response.redirect_chain
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    response = client.post(verify_url, {"code": f"{totp.token():06d}", "next": "/admin/"})
    assert response["Location"] == "/admin/"
    return client


def test_ops_staff_open_every_page_of_the_admin_and_each_ones_first_object(
    ops_client: Client,
) -> None:
    failures = {}
    opened = 0
    for model in registered():
        response = ops_client.get(changelist(model))
        if response.status_code != 200:
            failures[label(model)] = ("changelist", response.status_code)
            continue
        with unscoped_all_tenants(reason="test picks an object of each admin page"):
            first = model._default_manager.order_by("pk").first()
        if first is None:
            continue
        change = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[first.pk]
        )
        response = ops_client.get(change)
        if response.status_code != 200:
            failures[label(model)] = ("change page", response.status_code)
        opened += 1
    assert failures == {}
    assert opened >= 10  # the demo has organizations, users, invoices, rules, task runs...


def test_the_index_lists_every_app_and_uses_the_favicon(ops_client: Client) -> None:
    response = ops_client.get("/admin/")
    assert response.status_code == 200
    listed = {
        f"{app['app_label']}.{m['object_name'].lower()}"
        for app in response.context["app_list"]
        for m in app["models"]
    }
    assert listed == {label(model) for model in registered()}
    apps = {app["app_label"] for app in response.context["app_list"]}
    assert {"accounts", "audit", "billing", "notifications", "privacy_requests", "retention"} <= (
        apps
    )
    html = response.content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    page = ops_client.get(changelist(Invoice)).content.decode()
    assert 'href="/static/favicon.svg"' in page


def test_records_are_read_only_for_ops_staff(ops_client: Client) -> None:
    by_label = {label(model): model for model in registered()}
    for name in sorted(READ_ONLY):
        model = by_label[name]
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        assert ops_client.get(add).status_code == 403, name
        html = ops_client.get(changelist(model)).content.decode()
        assert f'href="{add}"' not in html, name


def test_invoice_amounts_are_money_not_cents(ops_client: Client) -> None:
    html = ops_client.get(changelist(Invoice)).content.decode()
    assert "12,000.00 USD" in html
    assert "1200000" not in html
    with unscoped_all_tenants(reason="test finds the demo invoice"):
        demo = Invoice.objects.get(number="K12-DEMO-0002")
    page = ops_client.get(reverse("admin:billing_invoice_change", args=[demo.pk]))
    text = page.content.decode()
    assert "12,000.00 USD" in text and "District plan (annual)" in text  # with its lines
    assert "Overdue by 30 days" in text  # the demo's due invoice: 60 days old, due in 30


def test_the_totp_admin_never_shows_a_key(ops_client: Client) -> None:
    with unscoped_all_tenants(reason="test"):
        device = TOTPDevice.objects.order_by("pk").first()
    assert device is not None
    html = ops_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert device.key not in html.content.decode()
    assert "qrcode" not in html.content.decode().lower()


def documented_pages(name: str) -> set[str]:
    text = (ROOT / "docs" / name).read_text()
    return {f"{app}.{model}" for app, model in ADMIN_PATH.findall(text)}


def test_the_docs_and_the_admin_agree(ops_client: Client) -> None:
    pages = {label(model) for model in registered()}
    # docs/ops-admin.md lists every page, and only pages that exist
    assert documented_pages("ops-admin.md") == pages
    # every other document names only pages that exist, and ops staff can open them
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for page in sorted(documented_pages(doc.name)):
            assert page in pages, f"{doc.name} names /admin/{page.replace('.', '/')}/"
    notifications = {p for p in pages if p.startswith("notifications.")}
    assert documented_pages("notifications.md") == notifications
    for page in sorted(notifications):
        app, model = page.split(".")
        assert ops_client.get(f"/admin/{app}/{model}/").status_code == 200
    # "filter by status and template" (docs/notifications.md): the admin has those filters
    response = ops_client.get("/admin/notifications/outboundemail/")
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"status", "template"} <= titles


def test_the_ops_group_command_is_idempotent() -> None:
    first, second = StringIO(), StringIO()
    call_command("ops_group", stdout=first)
    call_command("ops_group", stdout=second)
    assert first.getvalue() == second.getvalue()
    assert re.fullmatch(r'Group "Ops staff" has \d+ permissions\.\n', second.getvalue())
