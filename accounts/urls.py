from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("members/", views.MemberListView.as_view(), name="member_list"),
    path("members/<int:membership_id>/", views.MemberDetailView.as_view(), name="member_detail"),
]
