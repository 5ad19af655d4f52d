"""Financial records are kept 7 years, even after the organization is terminated.

The privacy policy promises to keep financial records "up to 7 years"; tax and audit rules
(IRS, CRA) require about that long. The retention engine (issue #7) reads this list and must
not de-identify or delete these rows before `period` has passed since the record's date
(`date_field`), whatever the organization's status. Billing contacts are personal data, not
financial records: they follow the organization's normal retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import models

from billing.models import Invoice, InvoiceLine, PurchaseOrder, StripeEvent, Subscription

FINANCIAL_RECORD_PERIOD = timedelta(days=7 * 365 + 2)  # 7 years, leap days included
RETENTION_CATEGORY = "financial_records"


@dataclass(frozen=True)
class FinancialRecordModel:
    model: type[models.Model]
    date_field: str
    period: timedelta = FINANCIAL_RECORD_PERIOD
    category: str = RETENTION_CATEGORY


FINANCIAL_RECORD_MODELS: list[FinancialRecordModel] = [
    FinancialRecordModel(Invoice, "created"),
    FinancialRecordModel(InvoiceLine, "invoice__created"),
    FinancialRecordModel(Subscription, "created"),
    FinancialRecordModel(PurchaseOrder, "created_at"),
    FinancialRecordModel(StripeEvent, "created"),
]
