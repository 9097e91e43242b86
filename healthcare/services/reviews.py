"""The doctor's review of an AI proposal (reviewed / accepted / modified / rejected)."""

from __future__ import annotations

from django.db import transaction

from ..models import AIProposedTreatmentPlan

Status = AIProposedTreatmentPlan.Status

DECISIONS = {
    Status.REVIEWED: "mark_as_reviewed",
    Status.ACCEPTED: "mark_as_accepted",
    Status.MODIFIED: "mark_as_modified",
    Status.REJECTED: "mark_as_rejected",
}


class ReviewError(Exception):
    """A refused review; str(error) is a message for the doctor."""


def review_proposal(
    proposal: AIProposedTreatmentPlan, decision: str, notes: str, *, by
) -> AIProposedTreatmentPlan:
    """Record the doctor's decision (audited by the model's mark_as_* methods)."""
    if decision not in DECISIONS:
        raise ReviewError("Choose reviewed, accepted, modified or rejected.")
    with transaction.atomic():
        proposal = AIProposedTreatmentPlan.objects.select_for_update().get(pk=proposal.pk)
        try:
            getattr(proposal, DECISIONS[decision])(notes, by=by)
        except ValueError as error:
            raise ReviewError(str(error)) from None
    return proposal
