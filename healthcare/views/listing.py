"""Small helpers shared by the workflow pages: pagination and the audit trail display."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import TreatmentPlanAuditLog

PAGE_SIZE = 20
AUDIT_VALUE_MAX = 300  # long texts are cut in the trail; the object page has the full text


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    """The requested page; junk or out-of-range page numbers give the first or last page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@dataclass
class AuditChange:
    field: str
    old: str | None
    new: str
    is_transition: bool


@dataclass
class AuditEntry:
    action: str
    actor: str
    timestamp: object
    changes: list[AuditChange] = field(default_factory=list)


def _text(value) -> str:
    text = "—" if value in (None, "") else str(value)
    return text if len(text) <= AUDIT_VALUE_MAX else text[: AUDIT_VALUE_MAX - 1] + "…"


def audit_entries(*, plan=None, proposal=None, limit: int = 100) -> list[AuditEntry]:
    """The trail of one plan or proposal, newest first, as plain rows for the template."""
    if (plan is None) == (proposal is None):
        # Filtering on proposal=None would list every plan's entries, of every patient.
        raise TypeError("audit_entries needs exactly one of plan= or proposal=.")
    rows = TreatmentPlanAuditLog.objects.select_related("actor")
    rows = rows.filter(plan=plan) if plan is not None else rows.filter(proposal=proposal)
    entries = []
    for row in rows[:limit]:
        actor = (row.actor.get_full_name() or row.actor.get_username()) if row.actor else "System"
        changes = []
        for name, value in (row.changes or {}).items():
            if isinstance(value, list) and len(value) == 2:
                changes.append(AuditChange(name, _text(value[0]), _text(value[1]), True))
            else:
                changes.append(AuditChange(name, None, _text(value), False))
        entries.append(AuditEntry(row.get_action_display(), actor, row.timestamp, changes))
    return entries
