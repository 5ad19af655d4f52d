# ruff: noqa: E501 (the notice texts are prose, one paragraph a line)
"""Starting texts of notices to people, per language, with what each law asks a notice to say:
what happened, the dates, the data involved, what we are doing, what you can do, contacts.

They are drafts: the organization edits them (and counsel reviews) before anything is sent.
"""

from __future__ import annotations

from accounts.models import Organization
from incidents.deadlines import zone_for
from incidents.models import DATA_CATEGORIES, Incident, IncidentLeg

_CATEGORY_ES = {
    "student_information": "información de estudiantes",
    "directory_information": "información de directorio",
    "education_records": "expedientes educativos",
    "student_generated_content": "contenido creado por estudiantes",
    "staff_information": "información del personal",
    "credentials": "credenciales de acceso",
    "financial": "información financiera",
    "health": "información de salud",
}

_EN = """Dear parent, guardian, student or staff member,

We are writing to tell you about a security incident involving information {organization} holds.

What happened
{description}

When
The incident was discovered on {discovered}.{received}

What information was involved
{categories}

What we are doing
We are investigating with the parties involved, have taken steps to contain the incident, and are notifying the authorities the law requires.

What you can do
Watch for unexpected emails or messages that mention your school, change passwords you use for school services, and contact us with any questions.

For more information
Contact {organization}'s privacy office. Reference: {reference}.

This notice is given under {citation}.
"""

_ES = """Estimada familia, estudiante o miembro del personal:

Le escribimos para informarle de un incidente de seguridad que afecta a información que guarda {organization}.

Qué sucedió
{description}

Cuándo
El incidente se descubrió el {discovered}.{received}

Qué información se vio afectada
{categories}

Qué estamos haciendo
Estamos investigando con las partes involucradas, hemos tomado medidas para contener el incidente y estamos avisando a las autoridades que exige la ley.

Qué puede hacer usted
Esté atento a correos o mensajes inesperados que mencionen su escuela, cambie las contraseñas que usa para los servicios escolares y comuníquese con nosotros si tiene preguntas.

Más información
Comuníquese con la oficina de privacidad de {organization}. Referencia: {reference}.

Este aviso se da conforme a {citation}.
"""


def notice_template(
    organization: Organization, incident: Incident, leg: IncidentLeg, language: str
) -> tuple[str, str]:
    zone = zone_for(organization.time_zone)
    discovered = incident.discovered_at.astimezone(zone).strftime("%Y-%m-%d")
    labels = dict(DATA_CATEGORIES)
    if language == "es":
        categories = ", ".join(_CATEGORY_ES.get(c, c) for c in incident.data_categories)
        received = (
            f" {incident.source_organization_name} nos lo notificó el "
            f"{incident.notice_received_at.astimezone(zone):%Y-%m-%d}."
            if incident.notice_received_at
            else ""
        )
        subject = f"Aviso de un incidente de seguridad ({incident.reference})"
        body = _ES
    else:
        categories = ", ".join(str(labels.get(c, c)) for c in incident.data_categories)
        received = (
            f" {incident.source_organization_name} notified us on "
            f"{incident.notice_received_at.astimezone(zone):%Y-%m-%d}."
            if incident.notice_received_at
            else ""
        )
        subject = f"Notice of a security incident ({incident.reference})"
        body = _EN
    return subject, body.format(
        organization=organization.name,
        description=incident.description,
        discovered=discovered,
        received=received,
        categories=categories or "-",
        reference=incident.reference,
        citation=leg.citation,
    )
