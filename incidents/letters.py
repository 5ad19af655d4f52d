"""Letters to regulators (NYSED's Chief Privacy Officer, a state Attorney General, ...), as
HTML and PDF, for the organization to submit through the regulator's own channel. The portal
does not submit them; the organization records the submission (`regulator_submission_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string

from accounts.models import Organization
from incidents.deadlines import zone_for
from incidents.models import DATA_CATEGORIES, Incident, IncidentLeg


@dataclass
class Letter:
    title: str
    to: str
    sender: str
    reference: str
    lines: list[tuple[str, str]]
    description: str
    citation: str


def letter_for(organization: Organization, incident: Incident, leg: IncidentLeg) -> Letter:
    zone = zone_for(organization.time_zone)

    def at(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    labels = dict(DATA_CATEGORIES)
    residents = ", ".join(f"{k}: {v}" for k, v in sorted((incident.residents or {}).items()))
    return Letter(
        title=f"Breach notification: {incident.reference}",
        to=leg.recipient_label,
        sender=organization.name,
        reference=incident.reference,
        lines=[
            ("Organization", organization.name),
            ("Discovered", at(incident.discovered_at)),
            ("Determined to be a breach", at(incident.determined_at)),
            ("Notice received from the vendor", at(incident.notice_received_at)),
            ("Vendor", incident.source_organization_name or "-"),
            (
                "Data involved",
                ", ".join(str(labels.get(c, c)) for c in incident.data_categories) or "-",
            ),
            (
                "People affected",
                "-" if incident.affected_total is None else str(incident.affected_total),
            ),
            ("Affected by state or province", residents or "-"),
            ("Systems involved", incident.systems or "-"),
            ("Due", at(leg.due_at)),
        ],
        description=incident.description,
        citation=leg.citation,
    )


def letter_html(letter: Letter) -> str:
    return render_to_string("incidents/letter.html", {"letter": letter})


def _latin1(text: str) -> str:
    replaced = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return replaced.encode("latin-1", "replace").decode("latin-1")


def letter_pdf(letter: Letter) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(_latin1(letter.title))
    pdf.set_author(_latin1(letter.sender))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, _latin1(letter.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 6, _latin1(f"To: {letter.to}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, value in letter.lines:
        pdf.multi_cell(0, 6, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "What happened", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 6, _latin1(letter.description), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(0, 6, _latin1(f"Given under {letter.citation}."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
