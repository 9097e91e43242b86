"""AIProposedTreatmentPlan: computed properties and the review rules."""

import pytest

from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog

from .factories import AIProposedTreatmentPlanFactory

pytestmark = pytest.mark.django_db


Status = AIProposedTreatmentPlan.Status
Gen = AIProposedTreatmentPlan.GenerationStatus


@pytest.mark.parametrize(
    ("prompt", "completion", "total"), [(None, None, None), (900, 300, 1200), (900, None, 900)]
)
def test_total_tokens(prompt, completion, total):
    proposal = AIProposedTreatmentPlan(prompt_tokens=prompt, completion_tokens=completion)
    assert proposal.total_tokens == total


def test_generation_state_properties():
    assert AIProposedTreatmentPlan(generation_status=Gen.QUEUED).is_in_progress
    assert AIProposedTreatmentPlan(generation_status=Gen.RUNNING).is_in_progress
    assert AIProposedTreatmentPlan(generation_status=Gen.COMPLETED).is_generation_finished
    assert AIProposedTreatmentPlan(generation_status=Gen.INCOMPLETE).is_generation_finished
    failed = AIProposedTreatmentPlan(generation_status=Gen.FAILED)
    assert not failed.is_generation_finished
    assert not failed.is_in_progress


def test_review_records_who_when_and_audits():
    proposal = AIProposedTreatmentPlanFactory()
    assert not proposal.is_reviewed
    proposal.mark_as_accepted("Looks right.")
    proposal.refresh_from_db()
    assert proposal.status == Status.ACCEPTED
    assert proposal.is_reviewed
    assert proposal.reviewed_at is not None
    assert proposal.reviewed_by == proposal.provider.user
    entry = TreatmentPlanAuditLog.objects.get(proposal=proposal)
    assert entry.action == TreatmentPlanAuditLog.Action.PROPOSAL_REVIEWED
    assert entry.changes["status"] == ["pending", "accepted"]


def test_unfinished_proposal_cannot_be_reviewed():
    proposal = AIProposedTreatmentPlanFactory(generation_status=Gen.RUNNING)
    with pytest.raises(ValueError, match="Only a finished proposal"):
        proposal.mark_as_reviewed()


def test_mark_as_used_requires_review_and_keeps_first_use():
    proposal = AIProposedTreatmentPlanFactory()
    with pytest.raises(ValueError, match="reviewed by doctor first"):
        proposal.mark_as_used()
    proposal.mark_as_reviewed()
    proposal.mark_as_used()
    first = proposal.used_at
    assert first is not None
    proposal.mark_as_used()
    assert proposal.used_at == first


def test_awaiting_review_is_finished_and_pending_only():
    waiting = [
        AIProposedTreatmentPlanFactory(generation_status=Gen.COMPLETED),
        AIProposedTreatmentPlanFactory(generation_status=Gen.INCOMPLETE),
    ]
    AIProposedTreatmentPlanFactory(generation_status=Gen.QUEUED)
    AIProposedTreatmentPlanFactory(generation_status=Gen.RUNNING)
    AIProposedTreatmentPlanFactory(generation_status=Gen.FAILED)
    AIProposedTreatmentPlanFactory(status=Status.ACCEPTED)
    found = AIProposedTreatmentPlan.objects.filter(AIProposedTreatmentPlan.awaiting_review())
    assert set(found) == set(waiting)
