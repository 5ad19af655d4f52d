"""Member management and invitations (organization pages)."""

from django.urls import URLPattern, path

from accounts import views_members as views

urlpatterns: list[URLPattern] = [
    path("members/invitations/", views.InvitationListView.as_view(), name="invitation_list"),
    path("members/invite/", views.InvitationCreateView.as_view(), name="invitation_create"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path(
        "members/<int:membership_id>/role/",
        views.MemberRoleChangeView.as_view(),
        name="member_role_change",
    ),
    path(
        "members/<int:membership_id>/deactivate/",
        views.MemberDeactivateView.as_view(),
        name="member_deactivate",
    ),
    path(
        "members/<int:membership_id>/reactivate/",
        views.MemberReactivateView.as_view(),
        name="member_reactivate",
    ),
]
