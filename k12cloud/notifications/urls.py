"""The member's notifications, under /o/<org_slug>/notifications/ (accounts.urls includes it)."""

from django.urls import path

from k12cloud.notifications import views

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notification_list"),
    path("unread/", views.NotificationUnreadCountView.as_view(), name="notification_unread"),
    path("settings/", views.NotificationPreferenceView.as_view(), name="notification_preferences"),
]
