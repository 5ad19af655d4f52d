"""DPA acceptance: the page, the audit event, the signed receipt, the dashboard panel, banners."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, date, datetime

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from accounts.tests.test_views import DASHBOARD_QUERIES as ACCOUNTS_DASHBOARD_QUERIES
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from trust.banners import platform_banners_refresh
from trust.models import DocumentObjection, DpaAcceptance
from trust.receipts import receipt_public_key_base64, receipt_statement
from trust.services import dpa_accept
from trust.tests.factories import DPA_V2, published

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# as accounts/tests/test_views.py: session, user, device, contexts, memberships, then the page
DASHBOARD_QUERIES = ACCOUNTS_DASHBOARD_QUERIES


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


def dpa_url(org: Organization, name: str = "trust_dpa", **kwargs: object) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org.slug, **kwargs})


def test_an_admin_accepts_the_dpa_on_its_page_and_it_is_audited(org: Organization) -> None:
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    with time_machine.travel(NOW, tick=False):
        version = published(effective_on=date(2027, 3, 1))
        client = sign_in(Client(), admin)
        page = client.get(dpa_url(org))
        assert page.status_code == 200
        assert "has not accepted the DPA yet" in page.content.decode()
        assert "within 60 days of termination" in page.content.decode()  # the document
        refused = client.post(
            dpa_url(org, "trust_dpa_accept"),
            {"version": version.pk, "version_hash": version.content_hash},
        )
        assert refused.status_code == 400  # the box is not ticked
        response = client.post(
            dpa_url(org, "trust_dpa_accept"),
            {"version": version.pk, "version_hash": version.content_hash, "confirm": "on"},
            REMOTE_ADDR="192.0.2.44",
        )
        assert response.status_code == 302
    with tenant_context(org):
        acceptance = DpaAcceptance.objects.get()
        events = list(AuditEvent.objects.filter(action=Action.TRUST_DPA_ACCEPTED))
    assert (acceptance.user, acceptance.accepted_at) == (admin, NOW)
    assert acceptance.version_hash == version.content_hash
    assert acceptance.ip_address == "192.0.2.44"
    assert len(events) == 1
    assert events[0].organization_id == org.pk
    assert events[0].actor_user_id == admin.pk
    assert events[0].changes["version_hash"] == version.content_hash
    # a second acceptance of the same version writes nothing
    with tenant_context(org):
        again = dpa_accept(
            organization=org,
            actor=admin,
            version_id=version.pk,
            version_hash=version.content_hash,
            ip_address=None,
        )
        assert again.created is False
        assert AuditEvent.objects.filter(action=Action.TRUST_DPA_ACCEPTED).count() == 1


def test_a_stale_hash_is_refused_and_nothing_is_saved(org: Organization) -> None:
    admin = member(org, Role.ORG_ADMIN)
    version = published(effective_on=date.today())
    client = sign_in(Client(), admin)
    response = client.post(
        dpa_url(org, "trust_dpa_accept"),
        {"version": version.pk, "version_hash": "0" * 64, "confirm": "on"},
    )
    assert response.status_code == 400
    assert "changed since you opened the page" in response.content.decode()
    with tenant_context(org):
        assert DpaAcceptance.objects.count() == 0


def test_only_admins_may_accept(org: Organization) -> None:
    version = published(effective_on=date.today())
    for role in (Role.PRIVACY_OFFICER, Role.BILLING_CONTACT, Role.VIEWER):
        client = sign_in(Client(), member(org, role))
        assert client.get(dpa_url(org)).status_code == 403
        response = client.post(
            dpa_url(org, "trust_dpa_accept"),
            {"version": version.pk, "version_hash": version.content_hash, "confirm": "on"},
        )
        assert response.status_code == 403


def test_the_receipt_is_a_pdf_whose_signature_verifies_with_the_published_key(
    org: Organization,
) -> None:
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    version = published(effective_on=date.today())
    with tenant_context(org):
        acceptance = dpa_accept(
            organization=org,
            actor=admin,
            version_id=version.pk,
            version_hash=version.content_hash,
            ip_address="192.0.2.9",
        ).acceptance
    client = sign_in(Client(), admin)
    response = client.get(dpa_url(org, "trust_dpa_receipt", acceptance_id=acceptance.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    text = b"".join(
        zlib.decompress(stream)
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
        if stream[:1] == b"x"
    ).decode("latin-1")
    with tenant_context(org):
        acceptance = DpaAcceptance.objects.select_related("version", "organization").get()
        statement = receipt_statement(acceptance)
    assert version.content_hash in statement and "ip=192.0.2.9" in statement
    signature = re.search(r"\(([A-Za-z0-9+/=]{86,88})\)", text)
    assert signature is not None
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(receipt_public_key_base64()))
    public.verify(base64.b64decode(signature.group(1)), statement.encode())  # raises if forged
    # the key is published
    key_page = Client().get(reverse("trust:receipt_key"))
    assert receipt_public_key_base64() in key_page.content.decode()
    # another organization's admin cannot fetch it
    other = OrganizationFactory(slug="hudson-csd")
    outsider = sign_in(Client(), member(other, Role.ORG_ADMIN))
    assert (
        outsider.get(dpa_url(org, "trust_dpa_receipt", acceptance_id=acceptance.pk)).status_code
        == 404
    )
    assert (
        outsider.get(dpa_url(other, "trust_dpa_receipt", acceptance_id=acceptance.pk)).status_code
        == 404
    )


def test_objection_before_the_effective_date_is_recorded_and_audited(org: Organization) -> None:
    admin = member(org, Role.ORG_ADMIN)
    with time_machine.travel(NOW, tick=False):
        published(effective_on=date(2027, 3, 1))
        upcoming = published(
            body=DPA_V2, material=True, effective_on=date(2027, 3, 31), summary="Deletion"
        )
        client = sign_in(Client(), admin)
        empty = client.post(dpa_url(org, "trust_objection"), {"version": upcoming.pk, "text": ""})
        assert empty.status_code == 400
        response = client.post(
            dpa_url(org, "trust_objection"),
            {"version": upcoming.pk, "text": "We need 60 days to review."},
        )
        assert response.status_code == 302
    with time_machine.travel(datetime(2027, 3, 31, tzinfo=UTC), tick=False):
        late = sign_in(Client(), admin).post(
            dpa_url(org, "trust_objection"), {"version": upcoming.pk, "text": "Too late"}
        )
        assert late.status_code == 400
    with tenant_context(org):
        objection = DocumentObjection.objects.get()
        assert objection.text == "We need 60 days to review."
        assert AuditEvent.objects.filter(action=Action.TRUST_OBJECTION_RECORDED).count() == 1


def test_the_banner_asks_admins_until_accepted_without_adding_queries(
    org: Organization, django_assert_num_queries
) -> None:
    admin = member(org, Role.ORG_ADMIN)
    version = published(effective_on=date.today())
    platform_banners_refresh()
    client = sign_in(Client(), admin)
    dashboard = reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
    first = client.get(dashboard)  # reads the organization's acceptances once, then caches
    assert "Please review the Data Processing Addendum." in first.content.decode()
    assert "has not accepted the DPA yet" in first.content.decode()  # the dashboard panel
    # the panel reads the acceptances (1 query); the banner only the cache
    with django_assert_num_queries(DASHBOARD_QUERIES + 1):
        page = client.get(dashboard)
    assert "Please review the Data Processing Addendum." in page.content.decode()
    with tenant_context(org):
        dpa_accept(
            organization=org,
            actor=admin,
            version_id=version.pk,
            version_hash=version.content_hash,
            ip_address=None,
        )
    text = client.get(dashboard).content.decode()
    assert "Please review the Data Processing Addendum." not in text
    assert "Your organization accepted DPA version 1." in text


def test_no_banner_and_no_extra_query_when_nothing_is_published(
    org: Organization, django_assert_num_queries
) -> None:
    client = sign_in(Client(), member(org, Role.ORG_ADMIN))
    with django_assert_num_queries(DASHBOARD_QUERIES):
        page = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
    assert "trust-banners" not in page.content.decode()


def test_notice_banner_for_admins_and_billing_contacts_until_dismissed(org: Organization) -> None:
    with time_machine.travel(NOW, tick=False):
        published(effective_on=date(2027, 3, 1))
        v2 = published(
            body=DPA_V2, material=True, effective_on=date(2027, 3, 31), summary="Deletion"
        )
        platform_banners_refresh()
        billing = sign_in(Client(), member(org, Role.BILLING_CONTACT))
        viewer = sign_in(Client(), member(org, Role.VIEWER))
        dashboard = reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
        page = billing.get(dashboard).content.decode()
        assert "Data Processing Addendum version 2 takes effect on 2027-03-31 (UTC)." in page
        assert "/trust/dpa/v2/diff/" in page
        assert "Please review the Data Processing Addendum" not in page  # admins only
        assert "takes effect on 2027-03-31" not in viewer.get(dashboard).content.decode()
        assert f'name="key" value="version:{v2.pk}"' in page
        dismissed = billing.post(
            reverse("accounts:trust_banner_dismiss", kwargs={"org_slug": org.slug}),
            {"key": f"version:{v2.pk}", "next": dashboard},
        )
        assert dismissed.status_code == 302 and dismissed["Location"] == dashboard
        assert "takes effect on 2027-03-31" not in billing.get(dashboard).content.decode()
        bad = billing.post(
            reverse("accounts:trust_banner_dismiss", kwargs={"org_slug": org.slug}),
            {"key": "nonsense"},
        )
        assert bad.status_code == 400


def test_accepting_the_announced_version_settles_the_request(org: Organization) -> None:
    admin = member(org, Role.ORG_ADMIN)
    with time_machine.travel(NOW, tick=False):
        published(effective_on=date(2027, 3, 1))
        upcoming = published(
            body=DPA_V2, material=True, effective_on=date(2027, 3, 31), summary="Deletion"
        )
        platform_banners_refresh()
        client = sign_in(Client(), admin)
        page = client.get(dpa_url(org)).content.decode()
        assert "Accept DPA version 1" in page and "Accept DPA version 2" in page
        client.post(
            dpa_url(org, "trust_dpa_accept"),
            {"version": upcoming.pk, "version_hash": upcoming.content_hash, "confirm": "on"},
        )
        page = client.get(dpa_url(org)).content.decode()
        assert "Your organization accepted DPA version 2." in page
        assert "Accept DPA version" not in page
        dashboard = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
        assert "Please review the Data Processing Addendum." not in dashboard.content.decode()
    # once version 2 is in effect it is the version to accept, and it is accepted
    with time_machine.travel(datetime(2027, 4, 1, tzinfo=UTC), tick=False):
        platform_banners_refresh()
        client = sign_in(Client(), admin)
        text = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))
        assert "Please review the Data Processing Addendum." not in text.content.decode()
        assert "Your organization accepted DPA version 2." in text.content.decode()


# the organization page's 11 (see accounts/tests/test_views.py) and the page's own: the DPA versions
# (the one to accept, and those to come), the organization's acceptances, the upcoming
# versions of each of the four documents
DPA_PAGE_QUERIES = 9 + 7


@pytest.mark.parametrize("versions", [1, 4])
def test_the_dpa_page_costs_the_same_whatever_the_history(
    versions: int, org: Organization, django_assert_num_queries
) -> None:
    admin = member(org, Role.ORG_ADMIN)
    with time_machine.travel(NOW, tick=False):
        for n in range(versions):
            version = published(effective_on=date(2027, 3, 1), body=f"{DPA_V2}\n{n}")
            with tenant_context(org):
                dpa_accept(
                    organization=org,
                    actor=admin,
                    version_id=version.pk,
                    version_hash=version.content_hash,
                    ip_address=None,
                )
        published(body=DPA_V2, material=True, effective_on=date(2027, 4, 1), summary="Next")
        platform_banners_refresh()
        client = sign_in(Client(), admin)
        client.get(dpa_url(org))  # the banners' member entries are cached by the first visit
        with django_assert_num_queries(DPA_PAGE_QUERIES):
            page = client.get(dpa_url(org))
    assert page.status_code == 200
