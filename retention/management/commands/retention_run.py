"""`python manage.py retention_run [--dry-run] [--organization SLUG]`

Prints, for each terminated organization (or the one named), its de-identification date, the
rule, whether it is due, held or done, and the rows per data category; without `--dry-run` it
then de-identifies the due ones. For each active organization (after the terminated ones) it
prints the rows due by age per category (retention.aging) and, without `--dry-run`, does them.
Exit status 2 for a bad argument.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from audit.context import Actor, acting_as
from retention.aging import aging_plan, organization_age_out
from retention.engine import organization_deidentify
from retention.sweep import Outcome, plan_for, terminated_organizations


class Command(BaseCommand):
    help = (
        "De-identify terminated organizations that are due, and rows due by age in active "
        "ones (or, with --dry-run, show what)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="change nothing")
        parser.add_argument("--organization", metavar="SLUG", help="only this organization")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["organization"]
        if slug is not None:
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                raise CommandError(f"--organization: no organization {slug!r}.", returncode=2)
            organizations = [organization]
        else:
            organizations = terminated_organizations() + list(
                Organization.objects.filter(status=Organization.Status.ACTIVE).order_by("pk")
            )
        dry_run = options["dry_run"]
        with acting_as(Actor.system("manage.py retention_run")):
            for organization in organizations:
                plan = plan_for(organization)
                self.stdout.write(
                    f"{organization.slug}: {plan.outcome}"
                    + (f" (de-identification date {plan.due_on})" if plan.due_on else "")
                )
                if plan.rule:
                    self.stdout.write(f"  rule: {plan.rule}")
                for category, rows in plan.counts.items():
                    self.stdout.write(f"  {category}: {rows} rows")
                if plan.outcome == Outcome.ACTIVE:
                    self._age_out(organization, dry_run=dry_run)
                if plan.runnable and not dry_run:
                    assert plan.due_on is not None
                    run = organization_deidentify(
                        organization=organization, due_on=plan.due_on, rule=plan.rule
                    )
                    self.stdout.write(f"  de-identified (run {run.pk}, log {run.log_sha256})")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")

    def _age_out(self, organization: Organization, *, dry_run: bool) -> None:
        aging = aging_plan(organization=organization)
        if aging.held:
            self.stdout.write("  due by age: held (an organization-wide legal hold)")
            return
        for category, rows in aging.per_category.items():
            self.stdout.write(f"  due by age, {category}: {rows} rows")
        if not dry_run and aging.total:
            done = organization_age_out(organization=organization)
            self.stdout.write(f"  de-identified by age: {done.total} rows")
