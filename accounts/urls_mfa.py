"""A user's own second factors: enrolment, verification, recovery codes, passkeys."""

from django.urls import path

from accounts.mfa import views, views_passkeys

urlpatterns = [
    path("", views.MfaOverviewView.as_view(), name="mfa_overview"),
    path("enrol/", views.MfaEnrolView.as_view(), name="mfa_enrol"),
    path("verify/", views.MfaVerifyView.as_view(), name="mfa_verify"),
    path("recovery-codes/", views.MfaRecoveryCodesView.as_view(), name="mfa_recovery_codes"),
    path("disable/", views.MfaDisableView.as_view(), name="mfa_disable"),
    # passkeys and security keys (WebAuthn); each page's options/ hands out its challenge
    path("verify/passkey/", views_passkeys.PasskeyVerifyView.as_view(), name="mfa_passkey_verify"),
    path(
        "verify/passkey/options/",
        views_passkeys.PasskeyVerifyOptionsView.as_view(),
        name="mfa_passkey_verify_options",
    ),
    path(
        "passkeys/new/", views_passkeys.PasskeyRegisterView.as_view(), name="mfa_passkey_register"
    ),
    path(
        "passkeys/new/options/",
        views_passkeys.PasskeyRegisterOptionsView.as_view(),
        name="mfa_passkey_register_options",
    ),
    path(
        "passkeys/<int:passkey_id>/remove/",
        views_passkeys.PasskeyRemoveView.as_view(),
        name="mfa_passkey_remove",
    ),
    # password-less sign-in (anonymous), where every organization of the user allows it
    path("passkey-sign-in/", views_passkeys.PasskeySignInView.as_view(), name="passkey_sign_in"),
    path(
        "passkey-sign-in/options/",
        views_passkeys.PasskeySignInOptionsView.as_view(),
        name="passkey_sign_in_options",
    ),
]
