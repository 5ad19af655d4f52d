"""Public invitation links."""

from django.urls import URLPattern, path

from accounts.views_invitations import invitation_accept_view

urlpatterns: list[URLPattern] = [
    path("<str:token>/", invitation_accept_view, name="invitation_accept"),
]
