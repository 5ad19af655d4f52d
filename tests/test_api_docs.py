"""/api/docs/ works under the site's Content Security Policy (issue #16, item 12): no inline
script or style, Swagger UI from our own static files. The browser journey
(tests/browser/test_journey_api_docs.py) shows the operations rendering."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_the_api_docs_page_has_no_inline_script_or_style_and_no_cdn() -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    response = signed_in(member(org, Role.VIEWER)).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    assert 'src="/static/js/api-docs.js"' in html
    assert 'data-schema-url="/api/schema/"' in html
    # every file the page loads is one of ours
    for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(path), path
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
