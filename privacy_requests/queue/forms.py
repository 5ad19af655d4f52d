"""Forms of the triage queue: the filters, and the bulk actions on a selection of requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from privacy_requests.models import REQUEST_TYPE_CHOICES
from privacy_requests.queue.selectors import (
    STATUS_ALL,
    STATUS_CLOSED,
    STATUS_OPEN,
    UNASSIGNED,
    QueueFilter,
)
from privacy_requests.rules.names import rule_name
from privacy_requests.status import Status
from privacy_requests.visibility import EMAIL_SEARCH_REFUSED

FILTER_FIELDS = (
    "status",
    "request_type",
    "assignee",
    "rule",
    "due_within_days",
    "overdue",
    "due_this_week",
    "unverified",
    "requester_email",
)
MAX_DUE_WITHIN_DAYS = 366
MAX_SELECTION = 200


def status_choices() -> list[tuple[str, Any]]:
    return [
        (STATUS_OPEN, _("Open (any open status)")),
        (STATUS_CLOSED, _("Closed (any closed status)")),
        (STATUS_ALL, _("All")),
        *Status.choices,
    ]


def _attrs_html(attrs: Mapping[str, Any]) -> str:
    """django/forms/widgets/attrs.html: ` name="value"` per attribute, ` name` for True,
    nothing for False."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class WrittenInPython:
    """A widget whose HTML is written in Python from the context Django's template would get:
    the same characters as Django's widget template, without a template (and an include per
    attribute list and per option). The queue's filter form is rendered on every visit to the
    queue; its nine fields took 2.3 ms of the page through the templates. A test renders the
    form with Django's own widgets beside it (privacy_requests/tests/test_queue.py)."""

    def html(self, widget: dict[str, Any]) -> str:
        raise NotImplementedError

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> str:
        return mark_safe(self.html(context["widget"]))  # noqa: S308 (every value escaped)


class InputInPython(WrittenInPython):
    def html(self, widget: dict[str, Any]) -> str:
        """checkbox.html, number.html, email.html: each is input.html (the renderer strips the
        newlines that end the templates)."""
        value = widget["value"]
        shown = f' value="{conditional_escape(value)}"' if value is not None else ""
        return (
            f'<input type="{conditional_escape(widget["type"])}" '
            f'name="{conditional_escape(widget["name"])}"{shown}{_attrs_html(widget["attrs"])}>'
        )


class Select(WrittenInPython, forms.Select):
    """Django's select (django/forms/widgets/select.html and select_option.html), written in
    Python: the same HTML."""

    def html(self, widget: dict[str, Any]) -> str:
        parts = [
            f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>'
        ]
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{conditional_escape(option["value"])}"'
                    f"{_attrs_html(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        # each option's template ends with a newline; the select's own is stripped
        parts.append("\n</select>")
        return "".join(parts)


# Named as Django's own: templates tell widgets apart by the class name (`field.widget_type`,
# "checkbox" for CheckboxInput: queue.html puts a check box before its label).


class NumberInput(InputInPython, forms.NumberInput):
    pass


class CheckboxInput(InputInPython, forms.CheckboxInput):
    pass


class EmailInput(InputInPython, forms.EmailInput):
    pass


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, widget=Select)
    request_type = forms.ChoiceField(label=_("Type"), required=False, widget=Select)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False, widget=Select)
    rule = forms.ChoiceField(label=_("Rule"), required=False, widget=Select)
    due_within_days = forms.IntegerField(
        label=_("Due within (days)"),
        required=False,
        min_value=0,
        max_value=MAX_DUE_WITHIN_DAYS,
        help_text=_("Calendar days from today, overdue requests included."),
        widget=NumberInput,
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False, widget=CheckboxInput)
    due_this_week = forms.BooleanField(
        label=_("Due this week only"),
        required=False,
        help_text=_("The next deadline is today or in the next six days (not overdue)."),
        widget=CheckboxInput,
    )
    unverified = forms.BooleanField(
        label=_("Identity not verified only"), required=False, widget=CheckboxInput
    )
    requester_email = forms.EmailField(
        label=_("Requester email"),
        required=False,
        help_text=_("The exact address the request was made with."),
        widget=EmailInput,
    )

    def __init__(
        self,
        *args: Any,
        workers: Sequence[tuple[str, str]],
        rule_ids: Sequence[str],
        email_search: bool = True,
        rule_names: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        # a lookup of personal data: not offered to roles that cannot read contact details,
        # and refused (a form error) when sent anyway (privacy_requests.visibility)
        self.email_search = email_search
        if not email_search:
            del fields["requester_email"]
        fields["status"].choices = status_choices()  # type: ignore[attr-defined]
        fields["request_type"].choices = [("", _("Any type")), *REQUEST_TYPE_CHOICES]  # type: ignore[attr-defined]
        fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")),
            (UNASSIGNED, _("Unassigned")),
            *workers,
        ]
        fields["rule"].choices = [  # type: ignore[attr-defined]
            ("", _("Any rule")),
            *((r, rule_name(r, rule_names)) for r in rule_ids),  # by name, never a bare code
        ]
        for name, field in fields.items():
            described = [f"id_{name}_hint"] if field.help_text else []
            if self.is_bound and name in self.errors:
                described.append(f"id_{name}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.email_search and self.is_bound and self.data.get("requester_email"):
            raise forms.ValidationError(EMAIL_SEARCH_REFUSED, code="email_search_refused")
        return cleaned

    def to_filter(self) -> QueueFilter:
        data = self.cleaned_data
        assignee = data.get("assignee") or ""
        return QueueFilter(
            status=data.get("status") or STATUS_OPEN,
            request_type=data.get("request_type") or "",
            unassigned=assignee == UNASSIGNED,
            assignee_id=int(assignee) if assignee and assignee != UNASSIGNED else None,
            rule_id=data.get("rule") or "",
            due_within_days=data.get("due_within_days"),
            overdue=bool(data.get("overdue")),
            due_this_week=bool(data.get("due_this_week")),
            unverified=bool(data.get("unverified")),
            requester_email=data.get("requester_email") or "",
        )

    def filter_values(self) -> list[tuple[str, str]]:
        """The valid filters as (name, value) pairs, to carry into page links and the export."""
        values = []
        for name in FILTER_FIELDS:
            value = self.cleaned_data.get(name)
            if value in (None, "", False):
                continue
            values.append((name, "on" if value is True else str(value)))
        return values


class BulkSelectionForm(forms.Form):
    """The requests ticked on the page (ids; resolved within the organization by the view)."""

    requests = forms.TypedMultipleChoiceField(
        label=_("Requests"),
        coerce=int,
        error_messages={"required": _("Select at least one request.")},
    )

    all_on_page = forms.BooleanField(label=_("All requests on this page"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = self.data
        if isinstance(data, QueryDict) and data.get("all_on_page"):
            # "select all on this page": the page's ids, sent as hidden fields with the rows
            data = data.copy()
            data.setlist("requests", data.getlist("page_requests"))
            self.data = data
        # any id is a valid choice here: the view looks them up in the organization only
        raw = data.getlist("requests") if isinstance(data, QueryDict) else []
        choices = [(v, v) for v in raw if str(v).isdigit() and len(str(v)) < 19]
        self.fields["requests"].choices = choices  # type: ignore[attr-defined]

    def clean_requests(self) -> list[int]:
        ids: list[int] = self.cleaned_data["requests"]
        if len(ids) > MAX_SELECTION:
            raise forms.ValidationError(
                _("Select at most %(max)d requests at a time."), params={"max": MAX_SELECTION}
            )
        return ids


class BulkAssignForm(BulkSelectionForm):
    assignee = forms.ChoiceField(
        label=_("Assign to"), error_messages={"required": _("Choose whom to assign them to.")}
    )

    def __init__(self, *args: Any, workers: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Choose a person")), *workers]  # type: ignore[attr-defined]
