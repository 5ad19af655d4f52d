"""The organization's MFA policy (organization pages)."""

from django.urls import path

from accounts.mfa import views

urlpatterns = [
    path("settings/mfa/", views.MfaPolicyView.as_view(), name="mfa_policy"),
]
