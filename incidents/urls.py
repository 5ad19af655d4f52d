"""Organization pages of incidents (`/o/<org_slug>/incidents/`), included from accounts/urls.py,
so the names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from incidents import views

urlpatterns: list[URLPattern] = [
    path("", views.IncidentListView.as_view(), name="incident_list"),
    path("new/", views.IncidentCreateView.as_view(), name="incident_create"),
    path("<int:incident_id>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("<int:incident_id>/status/", views.IncidentStatusView.as_view(), name="incident_status"),
    path(
        "<int:incident_id>/regimes/", views.IncidentRegimesView.as_view(), name="incident_regimes"
    ),
    path("<int:incident_id>/delays/", views.IncidentDelayView.as_view(), name="incident_delay"),
    path(
        "<int:incident_id>/delays/<int:delay_id>/end/",
        views.IncidentDelayEndView.as_view(),
        name="incident_delay_end",
    ),
    path(
        "<int:incident_id>/districts/",
        views.IncidentNotifyDistrictsView.as_view(),
        name="incident_notify_districts",
    ),
    path(
        "<int:incident_id>/acknowledge/",
        views.IncidentAcknowledgeView.as_view(),
        name="incident_acknowledge",
    ),
    path(
        "<int:incident_id>/recipients/",
        views.IncidentRecipientsView.as_view(),
        name="incident_recipients",
    ),
    path(
        "<int:incident_id>/legs/<int:leg_id>/notice/",
        views.NoticePrepareView.as_view(),
        name="incident_notice_prepare",
    ),
    path(
        "<int:incident_id>/notices/<int:notice_id>/",
        views.NoticeDetailView.as_view(),
        name="incident_notice",
    ),
    path(
        "<int:incident_id>/notices/<int:notice_id>/send/",
        views.NoticeSendView.as_view(),
        name="incident_notice_send",
    ),
    path(
        "<int:incident_id>/legs/<int:leg_id>/letter/",
        views.LetterView.as_view(),
        name="incident_letter",
    ),
    path(
        "<int:incident_id>/legs/<int:leg_id>/submission/",
        views.SubmissionView.as_view(),
        name="incident_submission",
    ),
]
