"""Reading a OneRoster CSV bulk package (1.2, and 1.1 where the role sits in users.csv).

Pure parsing, no database: `open_package` checks the zip and its manifest; `rows` streams one
file's rows (csv over the zip member, never the whole file in memory), checking the header
and the dates as it goes. Problems are `PackageProblem`s naming the file, the line and the
field, never the value found there (it may be a child's data).

The package (1EdTech OneRoster 1.2 CSV binding):
    manifest.csv   propertyName,value: manifest.version, oneroster.version,
                   file.<name> = bulk | delta | absent for each data file
    orgs.csv, academicSessions.csv, classes.csv, users.csv, roles.csv, demographics.csv,
    enrollments.csv, lineItems.csv, results.csv (others, e.g. courses.csv, are ignored)
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

MANIFEST = "manifest.csv"
SUPPORTED_VERSIONS = ("1.1", "1.2")

# the files we read, in the order the importer needs them (demographics and roles before
# users: a user's birth date and role are indexed with the user)
FILES = (
    "orgs",
    "academicSessions",
    "classes",
    "demographics",
    "roles",
    "users",
    "enrollments",
    "lineItems",
    "results",
)

# columns a file must have for us to use it
REQUIRED: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name"),
    "academicSessions": ("sourcedId", "title"),
    "classes": ("sourcedId", "title"),
    "demographics": ("sourcedId", "birthDate"),
    "roles": ("sourcedId", "userSourcedId", "role", "orgSourcedId"),
    "users": ("sourcedId", "givenName", "familyName"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
    "lineItems": ("sourcedId", "title"),
    "results": ("sourcedId", "lineItemSourcedId", "studentSourcedId"),
}
# OneRoster 1.1 keeps the role (and the orgs) in users.csv
REQUIRED_1_1 = {"users": ("sourcedId", "givenName", "familyName", "role", "orgSourcedIds")}

DATES: dict[str, tuple[str, ...]] = {
    "academicSessions": ("startDate", "endDate"),
    "demographics": ("birthDate",),
    "roles": ("beginDate", "endDate"),
    "enrollments": ("beginDate", "endDate"),
    "lineItems": ("assignDate", "dueDate"),
    "results": ("scoreDate",),
}
DATE_TIMES = ("dateLastModified",)
USER_ID = re.compile(r"\{([^:{}]*):([^{}]*)\}")
MAX_PROBLEMS = 50
# a member that is damaged (bad CRC, truncated), encrypted or compressed in a way zipfile
# cannot read
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)


@dataclass(frozen=True)
class PackageProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class PackageRefused(Exception):
    """The package cannot be imported; `problems` say where and why."""

    def __init__(self, problems: list[PackageProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass
class Package:
    archive: zipfile.ZipFile
    manifest_version: str
    oneroster_version: str
    # file stem -> zip member name, for the files the manifest says are there (bulk)
    members: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.members


def _member_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """File name (case as written, without folders) -> member, for the package's CSV files.

    Exports often wrap the files in one folder; we accept that, but not two files of the
    same name."""
    found: dict[str, str] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        base = info.filename.rsplit("/", 1)[-1]
        if base.lower().endswith(".csv") and not base.startswith("."):
            found.setdefault(base, info.filename)
    return found


def open_package(stream: IO[bytes]) -> Package:
    """Open the zip and read its manifest; raises PackageRefused naming what is wrong."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise PackageRefused(
            [
                PackageProblem(
                    "(package)",
                    None,
                    "",
                    "is not a zip file (a OneRoster CSV package "
                    "is a .zip with manifest.csv and the data files)",
                )
            ]
        ) from None
    names = _member_names(archive)
    if MANIFEST not in names:
        raise PackageRefused(
            [PackageProblem(MANIFEST, None, "", "is missing: the package has no manifest.csv")]
        )
    properties: dict[str, tuple[int, str]] = {}
    problems: list[PackageProblem] = []
    try:
        with archive.open(names[MANIFEST]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = next(reader, None)
                if header is None or [h.strip() for h in header[:2]] != ["propertyName", "value"]:
                    raise PackageRefused(
                        [
                            PackageProblem(
                                MANIFEST, 1, "propertyName", "the header must be propertyName,value"
                            )
                        ]
                    )
                for row in reader:
                    if not row or not any(cell.strip() for cell in row):
                        continue
                    if len(row) < 2:
                        problems.append(
                            PackageProblem(MANIFEST, reader.line_num, "value", "has no value")
                        )
                        continue
                    properties[row[0].strip()] = (reader.line_num, row[1].strip())
            except (UnicodeDecodeError, csv.Error) as error:
                raise PackageRefused(
                    [PackageProblem(MANIFEST, reader.line_num, "", f"cannot be read ({error})")]
                ) from None
    except ZIP_ERRORS:
        raise PackageRefused(
            [
                PackageProblem(
                    MANIFEST, None, "", "cannot be read from the zip (damaged or encrypted)"
                )
            ]
        ) from None
    version_line, version = properties.get("oneroster.version", (None, ""))
    if version not in SUPPORTED_VERSIONS:
        problems.append(
            PackageProblem(
                MANIFEST,
                version_line,
                "oneroster.version",
                "must be 1.2 or 1.1" if version else "is missing",
            )
        )
    _, manifest_version = properties.get("manifest.version", (None, ""))
    if not manifest_version:
        problems.append(PackageProblem(MANIFEST, None, "manifest.version", "is missing"))
    package = Package(archive, manifest_version, version)
    for key, (line, value) in sorted(properties.items(), key=lambda item: item[1][0]):
        if not key.startswith("file."):
            continue
        stem = key.removeprefix("file.")
        mode = value.lower()
        if mode == "absent":
            continue
        if mode == "delta":
            problems.append(
                PackageProblem(
                    MANIFEST,
                    line,
                    key,
                    "is a delta file: import a bulk export instead "
                    "(each import replaces the previous one)",
                )
            )
            continue
        if mode != "bulk":
            problems.append(PackageProblem(MANIFEST, line, key, "must be bulk, delta or absent"))
            continue
        if f"{stem}.csv" not in names:
            problems.append(
                PackageProblem(
                    MANIFEST, line, key, f"names {stem}.csv, which the package does not contain"
                )
            )
            continue
        if stem in FILES:
            package.members[stem] = names[f"{stem}.csv"]
    if "users" not in package.members and not any(p.field == "file.users" for p in problems):
        problems.append(
            PackageProblem(
                MANIFEST,
                properties.get("file.users", (None, ""))[0],
                "file.users",
                "must be bulk: a package without users.csv holds nobody to look up",
            )
        )
    if problems:
        raise PackageRefused(problems)
    return package


def _check_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _check_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _check_date(value)
    return True


def rows(
    package: Package, stem: str, problems: list[PackageProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of one file, streamed; header and date problems are appended to
    `problems` (a row with a problem is not yielded). Stops at MAX_PROBLEMS problems."""
    file_name = f"{stem}.csv"
    required = (
        REQUIRED_1_1.get(stem, REQUIRED[stem])
        if package.oneroster_version == "1.1"
        else REQUIRED[stem]
    )
    try:
        with package.archive.open(package.members[stem]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = [h.strip() for h in next(reader, [])]
                missing = [column for column in required if column not in header]
                for column in missing:
                    problems.append(
                        PackageProblem(file_name, 1, column, "the header has no such column")
                    )
                if missing:
                    return
                dates = [c for c in DATES.get(stem, ()) if c in header]
                date_times = [c for c in DATE_TIMES if c in header]
                width = len(header)
                for row in reader:
                    if len(problems) >= MAX_PROBLEMS:
                        return
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    line = reader.line_num
                    if len(row) != width:
                        problems.append(
                            PackageProblem(
                                file_name,
                                line,
                                "",
                                f"has {len(row)} fields; the header has {width}",
                            )
                        )
                        continue
                    record = {h: v.strip() for h, v in zip(header, row, strict=True) if v.strip()}
                    bad = False
                    if not record.get("sourcedId"):
                        problems.append(PackageProblem(file_name, line, "sourcedId", "is empty"))
                        bad = True
                    for column in dates:
                        if column in record and not _check_date(record[column]):
                            problems.append(
                                PackageProblem(
                                    file_name, line, column, "is not a date (YYYY-MM-DD)"
                                )
                            )
                            bad = True
                    for column in date_times:
                        if column in record and not _check_date_time(record[column]):
                            problems.append(
                                PackageProblem(
                                    file_name, line, column, "is not a date and time (ISO 8601)"
                                )
                            )
                            bad = True
                    if not bad:
                        yield line, record
            except (UnicodeDecodeError, csv.Error) as error:
                problems.append(
                    PackageProblem(file_name, reader.line_num, "", f"cannot be read ({error})")
                )
    except ZIP_ERRORS:
        problems.append(
            PackageProblem(
                file_name, None, "", "cannot be read from the zip (damaged or encrypted)"
            )
        )


def user_ids(value: str) -> list[tuple[str, str]]:
    """`{type:identifier},{...}` -> [(type, identifier)]."""
    return [
        (kind.strip(), ident.strip())
        for kind, ident in USER_ID.findall(value or "")
        if ident.strip()
    ]


def id_list(value: str) -> list[str]:
    """A comma-separated list of sourcedIds (orgSourcedIds, agentSourcedIds, grades)."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
