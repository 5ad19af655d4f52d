"""A request is one transaction: a view that fails half way leaves nothing behind."""

import pytest
from django.test import Client

from accounts.models import Organization


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.urls_failing")
def test_a_failing_view_leaves_no_writes() -> None:
    response = Client(raise_request_exception=False).get("/fail/")
    assert response.status_code == 500
    assert not Organization.objects.filter(slug="half-written").exists()
