from allauth.urls import build_provider_urlpatterns
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import views as account_views
from k12cloud import health, views
from k12cloud.api_docs import ApiDocsView

# the styled error pages (templates/<status>.html); unmatched URLs: JSON under /api/
handler400 = "k12cloud.views.bad_request"
handler403 = "k12cloud.views.permission_denied"
handler404 = "k12cloud.views.not_found"
handler500 = "k12cloud.views.server_error"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz/", views.health, name="health"),
    path("accounts/profile/", account_views.ProfileView.as_view(), name="profile"),
    path("accounts/mfa/", include("accounts.urls_mfa")),
    path("accounts/sessions/", include("accounts.urls_sessions")),
    path("accounts/sso/", include("accounts.urls_sso")),
    path("invitations/", include("accounts.urls_invitations")),
    # allauth's accounts and single sign-on URLs, without the deprecated unnamed social/ redirects
    # that include("allauth.urls") adds
    path("accounts/", include("allauth.account.urls")),
    path("accounts/3rdparty/", include("allauth.socialaccount.urls")),
    path("accounts/", include(build_provider_urlpatterns())),
    path("o/<slug:org_slug>/", include("accounts.urls")),
    path("privacy/", include("privacy_requests.public_urls")),
    path("api/v1/", views.ApiRootView.as_view(), name="api_root"),
    path("api/v1/", include("accounts.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI started from a static file: the CSP allows no inline script (k12cloud.api_docs)
    path("api/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    # --- notifications (notifications engineer) ---
    path("healthz/workers/", health.workers_health, name="health_workers"),
    # --- end of notifications ---
    # --- tracking (deadline-tracking engineer) ---
    # --- end of tracking ---
    # --- billing (billing engineer) ---
    # Stripe's webhook: no session, no CSRF; the signature is the authentication
    path("billing/stripe/", include("billing.webhook_urls")),
    # --- end of billing ---
    # --- retention (retention engineer) ---
    # --- end of retention ---
    # --- vendors: the off-portal vendor's link pages (vendors.public_views) ---
    path("vendor-tasks/", include("vendors.public_urls")),
    # --- end of vendors ---
    # --- trust center: /trust/ (documents), /status/ and /status.json (trust.public_urls) ---
    path("", include("trust.public_urls")),
    # --- end of trust center ---
    path("admin/", admin.site.urls),
]
