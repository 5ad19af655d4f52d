"""Stripe's webhook endpoint, included at /billing/stripe/ (k12cloud.urls)."""

from django.urls import URLPattern, path

from billing.webhooks import stripe_webhook

urlpatterns: list[URLPattern] = [
    path("webhook/", stripe_webhook, name="stripe_webhook"),
]
