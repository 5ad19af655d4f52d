"""A view that writes and then fails, for the request-transaction test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from accounts.models import Organization


def write_then_fail(request: HttpRequest) -> HttpResponse:
    Organization.objects.create(slug="half-written", name="Half", kind="district", time_zone="UTC")
    raise RuntimeError("the view failed after writing")


urlpatterns = [path("fail/", write_then_fail, name="write_then_fail")]
