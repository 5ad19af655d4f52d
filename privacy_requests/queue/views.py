"""The triage queue: filtered keyset pages, bulk assign and acknowledge, the register export."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView

from accounts.models import User
from accounts.permissions import Permission
from audit.actions import Action
from audit.services import record
from k12cloud.portal import OrganizationView
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue import selectors as queue
from privacy_requests.queue.forms import (
    FILTER_FIELDS,
    BulkAssignForm,
    BulkSelectionForm,
    QueueFilterForm,
)
from privacy_requests.queue.rendering import queue_rows_html
from privacy_requests.queue.selectors import (
    QueueCursor,
    QueueFilter,
    organization_today,
    queue_rows,
    register_csv_body,
    register_includes_personal_data,
    request_queue_page,
    request_worker_choices,
)
from privacy_requests.rules.selectors import organization_rule_ids, organization_rules
from privacy_requests.services import request_acknowledge, request_assign
from privacy_requests.visibility import RequestAccess, request_access

# The requester-email filter never travels in a URL (access logs, history, Referer): the filter
# form is POSTed, and the address is kept in the session under an opaque token that the
# queue's links carry as `search`.
SEARCH_PARAM = "search"
SEARCH_SESSION_KEY = "queue_email_searches"
SEARCHES_KEPT = 10


def search_token_store(request: HttpRequest, email: str) -> str:
    """Keep `email` in the session; returns the token that stands for it in URLs."""
    searches: dict[str, str] = dict(request.session.get(SEARCH_SESSION_KEY, {}))
    token = secrets.token_urlsafe(9)
    searches[token] = email
    request.session[SEARCH_SESSION_KEY] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return token


def search_token_email(request: HttpRequest, token: str) -> str | None:
    return dict(request.session.get(SEARCH_SESSION_KEY, {})).get(token)


class QueueFormMixin(OrganizationView):
    def workers(self) -> list[tuple[str, str]]:
        """Members who may be assigned requests; read once per request (filter and bulk form)."""
        cached: list[tuple[str, str]] | None = getattr(self, "_workers", None)
        if cached is None:
            cached = self._workers = request_worker_choices(organization=self.organization)
        return cached

    def filter_form(self, data: QueryDict | None) -> QueueFilterForm:
        # the rule filter's choices: the organization's rules as intake reads them (one
        # statement; the contract rules come from the process cache while unchanged)
        rules = organization_rules(organization=self.organization)
        rule_ids = [
            *organization_rule_ids(organization=self.organization, selection=rules.selection),
            *(c.engine_id for c in rules.contracts),
        ]
        return QueueFilterForm(
            data,
            workers=self.workers(),
            rule_ids=rule_ids,
            email_search=self.access().email_search,
            rule_names={c.engine_id: c.name for c in rules.contracts},
        )

    def access(self) -> RequestAccess:
        """Which values of a request the member's role may read (privacy_requests.visibility)."""
        return request_access(self.membership.role)

    def queue_url(self, params: QueryDict | None = None) -> str:
        url = reverse("accounts:request_queue", kwargs={"org_slug": self.organization.slug})
        query = QueryDict(mutable=True)
        for name in FILTER_FIELDS:
            if name == "requester_email":
                continue  # never in a URL: the search token stands for it
            if params is not None and params.get(name):
                query[name] = str(params.get(name))
        for name in (SEARCH_PARAM, "after"):
            if params is not None and params.get(name):
                query[name] = str(params.get(name))
        return f"{url}?{query.urlencode()}" if query else url


class RequestQueueView(QueueFormMixin, TemplateView):
    permission = Permission.REQUESTS_VIEW
    template_name = "privacy_requests/queue.html"

    def filter_params(self) -> QueryDict:
        """The filters of the URL, with the email the search token stands for (an email in
        the URL itself is ignored)."""
        params = self.request.GET.copy()
        params.pop("requester_email", None)
        token = params.get(SEARCH_PARAM)
        if token:
            email = search_token_email(self.request, token)
            if email:
                params["requester_email"] = email
            else:
                messages.info(self.request, _("That email search has expired: search again."))
        return params

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        params: QueryDict = kwargs.pop("params", None) or self.filter_params()
        context = super().get_context_data(**kwargs)
        filtering = any(params.get(name) for name in FILTER_FIELDS)
        form = self.filter_form(params if filtering else None)
        context["form"] = form
        context["filtering"] = filtering
        context["access"] = access = self.access()
        allowed = context["allowed"]
        selectable = {Permission.REQUESTS_WORK.value, Permission.REQUESTS_ASSIGN.value} & allowed
        # reference, type, status, assignee, deadline; the requester's name; the tick box
        context["columns"] = 5 + access.can["contact"] + bool(selectable)
        today = organization_today(self.organization)
        if filtering and not form.is_valid():
            context["rows"] = []
            return context
        filters = form.to_filter() if filtering else QueueFilter()
        after = QueueCursor.decode(str(params.get("after"))) if params.get("after") else None
        page = request_queue_page(
            organization=self.organization,
            filters=filters,
            after=after,
            today=today,
            size=queue.PAGE_SIZE,
            columns=queue.QUEUE_COLUMNS,
        )
        filter_values = form.filter_values() if filtering else []
        # the links' filters: the search token in place of the email
        link_values = [(n, v) for n, v in filter_values if n != "requester_email"]
        if any(n == "requester_email" for n, _v in filter_values) and params.get(SEARCH_PARAM):
            link_values.append((SEARCH_PARAM, str(params.get(SEARCH_PARAM))))
        context["link_values"] = link_values
        context["rows"] = queue_rows(
            organization=self.organization,
            requests=page.requests,
            today=today,
            access=access,
        )
        context["today"] = today
        context["filter_values"] = filter_values
        context["first_query"] = _query(link_values) if after is not None else None
        context["next_query"] = _query(link_values, page.next) if page.next else None
        context["current_query"] = _query(link_values)
        context["can_assign"] = Permission.REQUESTS_ASSIGN.value in allowed
        context["can_work"] = Permission.REQUESTS_WORK.value in allowed
        context["selectable"] = bool(selectable)  # the tick boxes' column
        context["rows_html"] = queue_rows_html(
            context["rows"], selectable=bool(selectable), contact=bool(access.can["contact"])
        )
        if context["can_assign"]:
            context["assign_form"] = BulkAssignForm(workers=self.workers())
        return context


class RequestQueueSearchView(RequestQueueView):
    """POST the queue's filters: the email goes into the session, the rest into the URL.

    Invalid filters re-render the queue with the errors tied to their fields.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.filter_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(params=request.POST))
        params = QueryDict(mutable=True)
        for name, value in form.filter_values():
            if name == "requester_email":
                params[SEARCH_PARAM] = search_token_store(request, value)
            else:
                params[name] = value
        return redirect(self.queue_url(params))


def _query(filter_values: list[tuple[str, str]], after: QueueCursor | None = None) -> str:
    query = QueryDict(mutable=True)
    for name, value in filter_values:
        query[name] = value
    if after is not None:
        query["after"] = after.encode()
    return query.urlencode()


# --- bulk actions -----------------------------------------------------------------------------


class BulkActionView(QueueFormMixin):
    """POST: apply one service to each selected request, in the request's one transaction.

    Each request gets its own savepoint, so a refusal (a closed request, one already
    acknowledged) undoes only that request's change; the others go through, and the page
    lists every refusal with its reason.
    """

    http_method_names = ["post"]

    def back(self) -> HttpResponseBase:
        return redirect(self.queue_url(_return_params(self.request.POST)))

    def selected(self, ids: list[int]) -> list[PrivacyRequest]:
        # locks in a fixed order; ids of another organization simply are not found
        return list(
            PrivacyRequest.objects.for_organization(self.organization)
            .filter(pk__in=ids)
            .order_by("pk")
            .select_for_update()
        )

    def apply(self, request: PrivacyRequest) -> None:
        raise NotImplementedError

    def succeeded_message(self, count: int) -> str:
        raise NotImplementedError

    def run(self, ids: list[int]) -> None:
        found = self.selected(ids)
        done = 0
        refusals: list[str] = []
        for privacy_request in found:
            try:
                with transaction.atomic():
                    self.apply(privacy_request)
                done += 1
            except ValidationError as refusal:
                reason = " ".join(str(m) for m in refusal.messages)
                refusals.append(f"{privacy_request.reference}: {reason}")
        missing = len(set(ids)) - len(found)
        if done:
            messages.success(self.request, self.succeeded_message(done))
        if refusals:
            messages.error(
                self.request,
                ngettext(
                    "%(count)d request was not changed: %(reasons)s",
                    "%(count)d requests were not changed: %(reasons)s",
                    len(refusals),
                )
                % {"count": len(refusals), "reasons": "; ".join(refusals)},
            )
        if missing:
            messages.error(
                self.request,
                ngettext(
                    "%(count)d selected request was not found.",
                    "%(count)d selected requests were not found.",
                    missing,
                )
                % {"count": missing},
            )


def _return_params(post: QueryDict) -> QueryDict:
    """The queue's filters and page, sent back with the bulk form as hidden fields."""
    params = QueryDict(mutable=True)
    for name in (*FILTER_FIELDS, SEARCH_PARAM, "after"):
        if post.get(f"return_{name}"):
            params[name] = str(post.get(f"return_{name}"))
    return params


class BulkAssignView(BulkActionView):
    permission = Permission.REQUESTS_ASSIGN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = BulkAssignForm(request.POST, workers=self.workers())
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
            return self.back()
        self.assignee = User.objects.get(pk=int(form.cleaned_data["assignee"]))
        self.run(form.cleaned_data["requests"])
        return self.back()

    def apply(self, privacy_request: PrivacyRequest) -> None:
        request_assign(request=privacy_request, assignee=self.assignee, actor=self.actor())

    def actor(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def succeeded_message(self, count: int) -> str:
        name = self.assignee.full_name or self.assignee.email
        return ngettext(
            "%(count)d request assigned to %(name)s.",
            "%(count)d requests assigned to %(name)s.",
            count,
        ) % {"count": count, "name": name}


class BulkAcknowledgeView(BulkActionView):
    permission = Permission.REQUESTS_WORK

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = BulkSelectionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
            return self.back()
        self.run(form.cleaned_data["requests"])
        return self.back()

    def apply(self, privacy_request: PrivacyRequest) -> None:
        request_acknowledge(request=privacy_request, actor=self.request.user)  # type: ignore[arg-type]

    def succeeded_message(self, count: int) -> str:
        return ngettext(
            "%(count)d request acknowledged.", "%(count)d requests acknowledged.", count
        ) % {"count": count}


# --- the register export ----------------------------------------------------------------------


class RequestRegisterExportView(QueueFormMixin):
    """POST: the request register (the queue's filters apply) as a streamed CSV download.

    A POST, not a link: an export is an audited act and must not happen by a prefetch.
    The requester's name, email and relationship are included only for roles that work
    requests (org admin, privacy officer, privacy staff); viewers get the register without
    personal data.
    """

    permission = Permission.REQUESTS_VIEW
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = self.filter_form(request.POST)
        if not form.is_valid():
            messages.error(request, _("The export was not made: correct the filters first."))
            return redirect(self.queue_url(request.POST))
        filters = form.to_filter()
        personal = register_includes_personal_data(self.membership)
        # in the request's transaction, before a byte of the body: no export goes unrecorded
        record(
            Action.REQUESTS_EXPORTED,
            organization=self.organization,
            changes={"format": "csv", "personal_data": personal, "filters": filters.summary()},
        )
        body = register_csv_body(
            self.organization,
            filters,
            personal=personal,
            today=organization_today(self.organization),
            language=translation.get_language(),
        )
        response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        filename = f"requests-{self.organization.slug}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
