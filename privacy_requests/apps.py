from django.apps import AppConfig


class PrivacyRequestsConfig(AppConfig):
    name = "privacy_requests"
