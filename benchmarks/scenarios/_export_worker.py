"""One full export of one organization in a fresh process, as a Celery worker runs it:
`python -m benchmarks.scenarios._export_worker ORGANIZATION_ID` prints one JSON line with the
rows, the seconds, and the process's resident memory before the export and at its peak
(VmHWM). Used by benchmarks/scenarios/exports.py; deletes the file it stored."""

from __future__ import annotations

import json
import sys
import time


def _memory_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # as in production (and as the harness sets it)

    from accounts.models import Organization
    from exports.models import OrganizationExport
    from exports.services import export_request, storage
    from exports.tasks import run_export
    from k12cloud.tenancy import tenant_context

    organization = Organization.objects.get(pk=int(sys.argv[1]))
    export = export_request(organization=organization, actor=None, via="api", enqueue=False)
    baseline = _memory_kib("VmRSS")
    start = time.perf_counter()
    outcome = run_export.apply(args=(organization.pk, export.pk)).get()  # the task's own body
    seconds = time.perf_counter() - start
    peak = _memory_kib("VmHWM")
    with tenant_context(organization):
        done = OrganizationExport.objects.get(pk=export.pk)
    storage().delete(done.storage_name)
    print(
        json.dumps(
            {
                "outcome": outcome,
                "rows": done.rows_done,
                "seconds": seconds,
                "size": done.size,
                "baseline_rss_kib": baseline,
                "peak_rss_kib": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
