"""The repository's documentation stands alone (issue #16, item 14): README, docs/ and code
comments link only to files inside the repository, never to the team's shared folder or an
absolute path on a machine, and every `docs/<name>.md` they name exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", ".local", "node_modules", "test-artifacts", "__pycache__"}
TEXT_SUFFIXES = {
    ".py", ".md", ".txt", ".html", ".js", ".css", ".toml", ".cfg", ".ini", ".yml", ".yaml",
    ".sh", ".po", ".json", ".svg",
}  # fmt: skip
TEXT_NAMES = {"Makefile", "Dockerfile", "README.md", ".gitignore", ".dockerignore"}
# documents that live outside the repository: naming them sends readers where they cannot go
OUTSIDE_DOCS = ("PRODUCT.md", "ENGINEERING.md", "DEADLINE_RULES.md", "BREACH_RULES.md")
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/docs\b|(?<![\w.])/work/|file://")
NAMED_DOC = re.compile(r"(?<![\w/.-])(docs/[\w.-]+\.md)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_text_files() -> list[Path]:
    """The repository's text files, but this one (its examples name what it looks for)."""
    this = Path(__file__).resolve()
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # an export without .git
        paths = [p for p in ROOT.rglob("*") if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    return sorted(
        p
        for p in paths
        if p.is_file()
        and (p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES)
        and p.resolve() != this
    )


def lines_of(path: Path) -> list[tuple[int, str]]:
    try:
        return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))
    except UnicodeDecodeError:
        return []


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in tracked_text_files():
        for number, line in lines_of(path):
            if OUTSIDE.search(line) or any(name in line for name in OUTSIDE_DOCS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert found == [], "restate what readers need in docs/ instead:\n" + "\n".join(found)


def test_every_named_doc_exists() -> None:
    missing = []
    for path in tracked_text_files():
        for number, line in lines_of(path):
            for name in NAMED_DOC.findall(line):
                if not (ROOT / name).is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert missing == []


def test_markdown_links_stay_inside_the_repository_and_exist() -> None:
    broken = []
    for path in tracked_text_files():
        if path.suffix != ".md":
            continue
        for number, line in lines_of(path):
            for target in MARKDOWN_LINK.findall(line):
                if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                    continue  # a web address or an anchor on the same page
                file_part = unquote(target.split("#", 1)[0])
                resolved = (path.parent / file_part).resolve()
                if (ROOT not in resolved.parents and resolved != ROOT) or not resolved.exists():
                    broken.append(f"{path.relative_to(ROOT)}:{number}: {target}")
    assert broken == []


def test_the_checks_catch_what_they_look_for() -> None:
    """The patterns match the kinds of link the issue found (a test that cannot fail is none)."""
    assert OUTSIDE.search("see ../shared/docs/PRODUCT.md")
    assert OUTSIDE.search("rules in /work/shared/docs/DEADLINE_RULES.md")
    assert not OUTSIDE.search("docs/deadlines.md and network/work/ratio")
    assert NAMED_DOC.findall("the rules of docs/DEADLINE_RULES.md.") == ["docs/DEADLINE_RULES.md"]
    assert MARKDOWN_LINK.findall("[billing](docs/billing.md) and [x](../shared/a.md)") == [
        "docs/billing.md",
        "../shared/a.md",
    ]
