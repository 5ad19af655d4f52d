"""The public trust center and status page (trust.public_views): no sign-in."""

from django.urls import URLPattern, path

from trust import public_views

app_name = "trust"

urlpatterns: list[URLPattern] = [
    path("trust/", public_views.index, name="index"),
    path("trust/receipt-key/", public_views.receipt_key, name="receipt_key"),
    path("trust/<slug:document>/", public_views.document, name="document"),
    path("trust/<slug:document>/v<int:number>/", public_views.version, name="version"),
    path("trust/<slug:document>/v<int:number>/diff/", public_views.diff, name="diff"),
    path("status/", public_views.status, name="status"),
    path("status.json", public_views.status_json, name="status_json"),
]
