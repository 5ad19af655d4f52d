"""The member's notifications (the bell's page), their unread count, and delivery settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from accounts.permissions import Permission
from k12cloud.notifications.forms import NotificationPreferenceForm, NotificationReadForm
from k12cloud.notifications.models import Notification
from k12cloud.notifications.selectors import (
    notification_list,
    notification_preference_get,
    notification_unread_count,
)
from k12cloud.notifications.services import (
    notification_mark_read,
    notification_preference_set,
    notifications_mark_all_read,
)
from k12cloud.portal import OrganizationView


class NotificationListView(OrganizationView, TemplateView):
    """GET: the member's latest notifications. POST: mark one read (and open it), or all."""

    permission = Permission.NOTIFICATIONS_VIEW
    template_name = "notifications/notification_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        notices = notification_list(organization=self.organization, user=self.request.user)  # type: ignore[arg-type]
        context.update(notices=notices, unread=sum(1 for n in notices if n.read_at is None))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = NotificationReadForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest(_("Choose a notification to mark as read."))
        user = request.user
        if form.cleaned_data["all"]:
            count = notifications_mark_all_read(organization=self.organization, user=user)  # type: ignore[arg-type]
            messages.success(request, _("Marked %(count)d as read.") % {"count": count})
            return redirect("accounts:notification_list", org_slug=self.organization.slug)
        notice_id = form.cleaned_data["notification"]
        notification_mark_read(
            organization=self.organization,
            user=user,  # type: ignore[arg-type]
            notification_id=notice_id,
        )
        if form.cleaned_data["open"]:
            notice = (
                Notification.objects.for_organization(self.organization)
                .filter(pk=notice_id, recipient=user)
                .only("url", "organization_id")
                .first()
            )
            if notice and notice.url and url_has_allowed_host_and_scheme(notice.url, None):
                return redirect(notice.url)
        return redirect("accounts:notification_list", org_slug=self.organization.slug)


class NotificationUnreadCountView(OrganizationView):
    """The bell's count, fetched by the page's script: no page pays a query for it."""

    permission = Permission.NOTIFICATIONS_VIEW

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        count = notification_unread_count(organization=self.organization, user=request.user)  # type: ignore[arg-type]
        response = JsonResponse({"unread": count})
        response["Cache-Control"] = "no-store"
        return response


class NotificationPreferenceView(OrganizationView, FormView):
    """An email for each notification, or one digest each morning."""

    permission = Permission.NOTIFICATIONS_VIEW
    template_name = "notifications/preferences.html"
    form_class = NotificationPreferenceForm

    def get_initial(self) -> dict[str, Any]:
        return {
            "delivery": notification_preference_get(
                organization=self.organization,
                user=self.request.user,  # type: ignore[arg-type]
            )
        }

    def form_valid(self, form: NotificationPreferenceForm) -> HttpResponse:
        delivery = notification_preference_set(
            organization=self.organization,
            user=self.request.user,  # type: ignore[arg-type]
            delivery=form.cleaned_data["delivery"],
        )
        label = dict(NotificationPreferenceForm.base_fields["delivery"].choices)[delivery]  # type: ignore[attr-defined]
        messages.success(self.request, _("Saved: %(choice)s.") % {"choice": label})
        return redirect("accounts:notification_preferences", org_slug=self.organization.slug)
