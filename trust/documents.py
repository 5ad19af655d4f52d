"""Rendering documents: Markdown made safe, and a readable diff between two versions.

Markdown is rendered by markdown-it-py (CommonMark, plus tables for the subprocessor list)
with raw HTML turned off: HTML in a body is shown as text, never interpreted, and links with
`javascript:`, `vbscript:`, `file:` or `data:` addresses are not made links (markdown-it's
own link validation). So no sanitizer is needed after it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("table")


def render_markdown(text: str) -> SafeString:
    """HTML of a document body: safe to put on a page (raw HTML is escaped, see above)."""
    return mark_safe(_markdown.render(text))  # noqa: S308 (html disabled: every tag is escaped)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", "gap"
    text: str


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """Line diff of two Markdown bodies, with `context` unchanged lines around each change."""
    a = old.replace("\r\n", "\n").split("\n")
    b = new.replace("\r\n", "\n").split("\n")
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", line) for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                lines.extend(DiffLine("removed", line) for line in a[i1:i2])
            if tag in ("replace", "insert"):
                lines.extend(DiffLine("added", line) for line in b[j1:j2])
    return lines
