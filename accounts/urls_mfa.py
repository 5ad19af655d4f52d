"""A user's own second factors: enrolment, verification, recovery codes."""

from django.urls import path

from accounts.mfa import views

urlpatterns = [
    path("", views.MfaOverviewView.as_view(), name="mfa_overview"),
    path("enrol/", views.MfaEnrolView.as_view(), name="mfa_enrol"),
    path("verify/", views.MfaVerifyView.as_view(), name="mfa_verify"),
    path("recovery-codes/", views.MfaRecoveryCodesView.as_view(), name="mfa_recovery_codes"),
    path("disable/", views.MfaDisableView.as_view(), name="mfa_disable"),
]
