"""The queue table's rows as HTML, written once per page in Python.

The queue page is rendered on every visit, and its 50 rows were most of the page's template
time: about 25 variable lookups, `if` tags and escapes per row through Django's template
engine (3 ms of a 16 ms page). `queue_rows_html` writes the same markup, character for
character, with the same escaping (`django.utils.html.escape`'s on every value, the template's
translated words as they are); `privacy_requests/tests/test_queue_rendering.py` renders the
former template fragment beside it for many kinds of rows, in English and Spanish, for roles
with and without the tick boxes and the requester column.

What a row says (labels, badge, link, the tick box's label) is worked out by
`selectors.queue_rows`; this module only writes it down.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from privacy_requests.queue.selectors import QueueRow


def _text(value: object) -> str:
    """`{{ value }}` in an autoescaping template: the value's str(), escaped as
    `django.utils.html.escape` does it (which is `html.escape`; None reads "None", as the
    template printed it). None of the row's values is already safe HTML."""
    return html.escape(str(value))


def queue_rows_html(rows: Sequence[QueueRow], *, selectable: bool, contact: bool) -> SafeString:
    """The table body's rows (queue.html prints them inside its <tbody>), each as the loop
    `{% for row in rows %}` wrote it: a newline and indent, the <tr>, then a newline and the
    indent of the loop's next line. `selectable`: the tick box column; `contact`: the
    requester's name column (`access.can.contact`)."""
    # the template's {% translate %} words, escaped as {% translate %} printed them (a
    # translation is text, not markup)
    dates_to_review = _text(gettext("dates to review"))
    unassigned = _text(gettext("Unassigned"))
    none = _text(gettext("None"))
    parts: list[str] = []
    add = parts.append
    for row in rows:
        r = row.request
        add("\n    <tr>\n      ")
        if selectable:
            row_id = _text(row.id)
            add(
                f'<td><input type="checkbox" name="requests" value="{row_id}" '
                f'id="select-{row_id}"><label for="select-{row_id}" class="visually-hidden">'
                f'{_text(row.select_label)}</label><input type="hidden" name="page_requests" '
                f'value="{row_id}"></td>'
            )
        add(f'\n      <td><a href="{_text(row.url)}">{_text(r.reference)}</a></td>')
        add(f"\n      <td>{_text(row.type_label)}</td>")
        add(f"\n      <td>{_text(row.status_label)}")
        if r.deadline_snapshot_stale_since and not r.closed_at:
            add(f' <span class="badge badge-soon">{dates_to_review}</span>')
        add("</td>\n      ")
        if contact:
            add(f"<td>{_text(row.requester_name)}</td>")
        assignee = r.assignee
        if assignee:
            add(f"\n      <td>{_text(assignee.full_name or assignee.email)}</td>")
        else:
            add(f'\n      <td><span class="hint">{unassigned}</span></td>')
        badge = row.badge
        if badge.kind == "none":
            add(f'\n      <td><span class="hint">{none}</span></td>')
        else:
            due_on = _text(row.due_on)
            add(
                f'\n      <td>\n        <time datetime="{due_on}">{due_on}</time>\n'
                f'        <span class="badge badge-{_text(badge.kind)}">'
                f"{_text(row.badge_text)}</span>\n      </td>"
            )
        add("\n    </tr>\n    ")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
