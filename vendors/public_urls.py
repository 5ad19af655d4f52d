"""The off-portal vendor's pages, under /vendor-tasks/ (no sign-in): vendors.public_views."""

from django.urls import URLPattern, path

from vendors import public_views

app_name = "vendor_portal"

urlpatterns: list[URLPattern] = [
    path("<slug:org_slug>/open/<str:token>/", public_views.open_view, name="open"),
    path("<slug:org_slug>/task/", public_views.task_view, name="task"),
    path("<slug:org_slug>/code/", public_views.code_view, name="code"),
]
