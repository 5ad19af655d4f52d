"""Privacy metrics per organization (11 CCR § 7102 figures): page, chart and CSV export
(docs/privacy-metrics.md)."""
