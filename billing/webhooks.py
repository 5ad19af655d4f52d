"""Stripe webhooks at /billing/stripe/webhook/: verify, store, then process exactly once.

1. Verify the `Stripe-Signature` header against the raw body and STRIPE_WEBHOOK_SECRET with
   Stripe's library, timestamp tolerance STRIPE_WEBHOOK_TOLERANCE on both sides of now. Then
   check the event's shape (`event_parse`): a JSON object with a string id and type, `data`
   and `data.object` objects, `created` a sane integer. Bad signature, stale or future
   timestamp, or a body that is not such an event: 400 naming the problem, nothing written.
2. Resolve the organization from the event's customer id (StripeCustomer). Unknown customers
   (and events without one) belong to the platform organization.
3. Store the raw event: `INSERT ... ON CONFLICT (event_id) DO NOTHING`. The unique constraint,
   not an existence check, decides which delivery stores it.
4. Lock the stored row (`SELECT ... FOR UPDATE`) and process it unless already processed. A
   concurrent duplicate waits on the lock and then finds it processed. Processing runs in a
   savepoint: when it fails, the error is kept on the stored event (which stays unprocessed)
   and the next delivery, or `billing.retry_stripe_events`, tries again.

The URL is outside /o/<slug>/, so TenancyMiddleware gives the request only an anonymous user
context; the work here enters the organization's tenant context explicitly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Organization
from audit.context import Actor, acting_as
from billing import sync
from billing.models import StripeCustomer, StripeEvent
from k12cloud.api_common import JsonInputError, json_loads_bounded
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

logger = logging.getLogger(__name__)

PLATFORM_SLUG = "k12cloud"

Handler = Callable[[Organization, dict[str, Any], datetime], object]


def _subscription(organization: Organization, obj: dict[str, Any], created: datetime) -> object:
    return sync.subscription_sync(organization=organization, data=obj, event_created=created)


def _invoice(organization: Organization, obj: dict[str, Any], created: datetime) -> object:
    return sync.invoice_sync(organization=organization, data=obj, event_created=created)


def _invoice_failed(organization: Organization, obj: dict[str, Any], created: datetime) -> object:
    return sync.invoice_sync(
        organization=organization, data=obj, event_created=created, payment_failed=True
    )


# Event types we act on; every other type is stored and acknowledged.
HANDLERS: dict[str, Handler] = {
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "customer.subscription.paused": _subscription,
    "customer.subscription.resumed": _subscription,
    "invoice.created": _invoice,
    "invoice.updated": _invoice,
    "invoice.finalized": _invoice,
    "invoice.paid": _invoice,
    "invoice.payment_succeeded": _invoice,
    "invoice.voided": _invoice,
    "invoice.marked_uncollectible": _invoice,
    "invoice.payment_failed": _invoice_failed,
}


def _customer_id(obj: dict[str, Any]) -> str:
    if obj.get("object") == "customer":
        return str(obj.get("id") or "")
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return str(customer or "")


def organization_for_customer(customer_id: str) -> tuple[Organization, bool]:
    """The organization whose Stripe customer this is (True), or the platform's (False)."""
    organization_id = None
    if customer_id:
        with unscoped_all_tenants(reason="find the organization of a Stripe webhook's customer"):
            organization_id = (
                StripeCustomer.objects.filter(stripe_customer_id=customer_id)
                .values_list("organization_id", flat=True)
                .first()
            )
    if organization_id is not None:
        return Organization.objects.get(pk=organization_id), True
    platform = Organization.objects.filter(slug=PLATFORM_SLUG).first()
    if platform is None:
        raise ImproperlyConfigured(f"The platform organization {PLATFORM_SLUG!r} is missing.")
    return platform, False


def event_store(*, organization: Organization, event: dict[str, Any], payload: str) -> bool:
    """Store the raw event unless its id is stored already; True when this call stored it.

    Must run in the organization's tenant context. The payload is encrypted first (as a model
    save would), then inserted with ON CONFLICT DO NOTHING on the unique event id.
    """
    row = StripeEvent(
        organization=organization,
        event_id=str(event["id"]),
        type=str(event.get("type") or "")[:100],
        livemode=bool(event.get("livemode")),
        object_id=str(((event.get("data") or {}).get("object") or {}).get("id") or "")[:255],
        created=datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC),
        payload=payload,
        received_at=timezone.now(),
    )
    fields = [
        f
        for f in StripeEvent._meta.concrete_fields
        if f.name not in ("id", "processed_at", "attempts", "error")
    ]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(values))
    table = connection.ops.quote_name(StripeEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, attempts, error) "
            f"VALUES ({placeholders}, 0, '') "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            values,
        )
        return cursor.fetchone() is not None


def event_process(
    *, organization: Organization, event_id: str, event: dict[str, Any], apply: bool = True
) -> bool:
    """Process the stored event once; True when this call processed it.

    Runs in the organization's tenant context. The row lock makes concurrent deliveries of the
    same event wait here; whoever comes second finds `processed_at` set and does nothing.
    `apply=False` (no organization has the event's customer) only acknowledges it: Stripe's
    objects are never copied into the platform organization.
    """
    stored = StripeEvent.objects.select_for_update().filter(event_id=event_id).first()
    if stored is None or stored.processed_at is not None:
        return False  # processed already (or stored under another organization)
    handler = HANDLERS.get(stored.type) if apply else None
    stored.attempts += 1
    try:
        with transaction.atomic(), acting_as(Actor.system("stripe webhook")):
            if handler is not None:
                obj = (event.get("data") or {}).get("object") or {}
                handler(organization, obj, stored.created)
    except Exception as error:  # kept on the event; the next delivery or the retry task retries
        logger.exception("billing: processing Stripe event %s failed", event_id)
        stored.error = f"{type(error).__name__}: {error}"[:500]
        stored.save(update_fields=["attempts", "error"])
        return False
    stored.processed_at = timezone.now()
    stored.error = ""
    stored.save(update_fields=["attempts", "error", "processed_at"])
    return True


def event_receive(*, event: dict[str, Any], payload: str) -> tuple[bool, bool]:
    """Store and process one verified event: (stored now, processed now)."""
    organization, ours = organization_for_customer(
        _customer_id((event.get("data") or {}).get("object") or {})
    )
    with tenant_context(organization):
        stored = event_store(organization=organization, event=event, payload=payload)
        processed = event_process(
            organization=organization, event_id=str(event["id"]), event=event, apply=ours
        )
    return stored, processed


def events_retry(*, organization: Organization) -> int:
    """Process the organization's stored, unprocessed events again (oldest first)."""
    done = 0
    pending = list(
        StripeEvent.objects.filter(processed_at__isnull=True)
        .order_by("created", "pk")
        .values_list("event_id", flat=True)
    )
    for event_id in pending:
        with tenant_context(organization):
            stored = StripeEvent.objects.filter(event_id=event_id).first()
            if stored is None:
                continue
            event = json.loads(stored.payload)
            owner, ours = organization_for_customer(
                _customer_id((event.get("data") or {}).get("object") or {})
            )
            done += event_process(
                organization=organization,
                event_id=event_id,
                event=event,
                apply=ours and owner.pk == organization.pk,
            )
    return done


class MalformedEvent(ValueError):
    """A correctly signed body that is not a Stripe event we can store; the message says why."""


# Stripe began in 2010: an event older than that is not one.
_EARLIEST_EVENT = int(datetime(2010, 1, 1, tzinfo=UTC).timestamp())


def signature_verify(*, payload: str, header: str) -> None:
    """Raise stripe.SignatureVerificationError unless Stripe signed `payload` within tolerance.

    Stripe's library refuses signatures older than the tolerance; one dated further in the
    future than the tolerance is refused here too (a clock that far ahead is not Stripe's, and
    a replay window must not open on either side).
    """
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    stripe.WebhookSignature.verify_header(
        payload, header, settings.STRIPE_WEBHOOK_SECRET, tolerance
    )
    timestamps = [int(v) for k, _, v in (p.partition("=") for p in header.split(",")) if k == "t"]
    if timestamps[0] > time.time() + tolerance:
        raise stripe.SignatureVerificationError(
            "Signature timestamp is in the future, beyond the tolerance.", header, payload
        )


def event_parse(payload: str) -> dict[str, Any]:
    """The event in a verified body, checked for the shape the storage and handlers rely on.

    Raises MalformedEvent naming the first problem, before anything is written.
    """
    try:  # bounded: a signed body nested 100,000 deep must not exhaust the stack
        event = json_loads_bounded(payload, max_bytes=None)  # size: DATA_UPLOAD_MAX_MEMORY_SIZE
    except JsonInputError as error:
        raise MalformedEvent(f"Invalid payload: not JSON. {error}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("Not an event: the body must be a JSON object.")
    if event.get("object") != "event":
        raise MalformedEvent('Not an event: "object" must be "event".')
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent('"id" must be a non-empty string of at most 255 characters.')
    if not isinstance(event.get("type"), str):
        raise MalformedEvent('"type" must be a string.')
    if "livemode" in event and not isinstance(event["livemode"], bool):
        raise MalformedEvent('"livemode" must be true or false.')
    data = event.get("data")
    if not isinstance(data, dict):
        raise MalformedEvent('"data" must be an object.')
    if not isinstance(data.get("object"), dict):
        raise MalformedEvent('"data.object" must be an object.')
    created = event.get("created")
    latest = time.time() + settings.STRIPE_WEBHOOK_TOLERANCE
    if (
        not isinstance(created, int)
        or isinstance(created, bool)
        or not _EARLIEST_EVENT <= created <= latest
    ):
        raise MalformedEvent(
            '"created" must be a whole number of seconds since 1970 (UTC), '
            "from 2010 to the present."
        )
    return event


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    payload = request.body.decode("utf-8", errors="replace")
    signature = request.headers.get("Stripe-Signature", "")
    try:
        signature_verify(payload=payload, header=signature)
    except stripe.SignatureVerificationError:
        return HttpResponseBadRequest("Invalid signature.", content_type="text/plain")
    try:
        event = event_parse(payload)
    except MalformedEvent as malformed:
        return HttpResponseBadRequest(str(malformed), content_type="text/plain")
    stored, processed = event_receive(event=event, payload=payload)
    return JsonResponse({"received": True, "duplicate": not stored, "processed": processed})
