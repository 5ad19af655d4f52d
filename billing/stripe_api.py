"""The few calls we make to Stripe's HTTP API, in one place.

Each call passes `api_key=settings.STRIPE_SECRET_KEY` rather than setting the library's global,
so a settings override (tests, a rotated key) takes effect at once. Tests fake Stripe at the
HTTP boundary (`responses` on https://api.stripe.com), never these functions.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

# Stripe-hosted pages the portal's forms may redirect to (Content-Security-Policy form-action)
STRIPE_FORM_TARGETS = ["https://billing.stripe.com", "https://checkout.stripe.com"]


class StripeUnavailable(RuntimeError):
    """Stripe could not be reached or refused the call; the message is safe to show."""


def _call(function: Any, **params: Any) -> Any:
    try:
        return function(api_key=settings.STRIPE_SECRET_KEY, **params)
    except stripe.StripeError as error:
        raise StripeUnavailable(type(error).__name__) from error


def customer_create(*, organization_id: int, organization_slug: str, name: str) -> str:
    """A new Stripe customer for the organization; returns its id.

    Only the organization's name and our ids go to Stripe here; billing contacts are added by
    the customer on Stripe's pages.
    """
    customer = _call(
        stripe.Customer.create,
        name=name,
        metadata={"organization_id": str(organization_id), "organization_slug": organization_slug},
        idempotency_key=f"k12cloud-customer-{organization_id}",
    )
    return str(customer["id"])


def customer_portal_url(*, stripe_customer_id: str, return_url: str) -> str:
    """A one-time link to Stripe's customer portal (payment methods, receipts)."""
    session = _call(
        stripe.billing_portal.Session.create, customer=stripe_customer_id, return_url=return_url
    )
    return str(session["url"])
