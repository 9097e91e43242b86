"""A stand-in for healthcare.ai_treatment_generator in the generation tests.

It follows the generator's contract (notes: fills the given queued proposal, sets running /
started_at / heartbeat_at / attempts, saves the text as it "streams", ends completed or failed with
the reason and an audit row) without any HTTP, so the queue, views and recovery can be tested
on their own. `install_fake_generator(monkeypatch)` puts it in place of the real one.
"""

from __future__ import annotations

import sys
import types

from django.utils import timezone

from healthcare.ai.errors import GenerationError, OllamaUnavailableError
from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog

GS = AIProposedTreatmentPlan.GenerationStatus

FAKE_TEXT = "ASSESSMENT\nHypertension, uncontrolled.\nMEDICATIONS\nLisinopril 20 mg daily."
FAKE_DATA = {
    "age": 64,
    "sex": "Female",
    "vital_signs": [{"blood_pressure": "182/95", "heart_rate": 88}],
    "allergies": [],
    "social_history": {"smoking_status": "former", "exercise": "walks"},
}


class FakeGenerator:
    """Configured through class attributes so tests can change the behaviour of instances
    created deep inside the code under test."""

    outcome = "complete"  # or "fail", "crash"
    calls: list[dict] = []

    def __init__(self, model=None, client=None):
        self.model = model

    def gather_patient_data(self, patient) -> dict:
        return dict(FAKE_DATA)

    def generate_treatment_plan(self, patient, provider=None, *, proposal=None, on_progress=None):
        type(self).calls.append({"patient": patient.pk, "proposal": proposal and proposal.pk})
        now = timezone.now()
        proposal.generation_status = GS.RUNNING
        proposal.started_at = now
        proposal.heartbeat_at = now
        proposal.attempts += 1
        proposal.save()
        AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
            raw_response=FAKE_TEXT[:20], heartbeat_at=timezone.now()
        )
        if self.outcome == "crash":
            raise RuntimeError("a bug")
        if self.outcome == "fail":
            error = OllamaUnavailableError()
            proposal.generation_status = GS.FAILED
            proposal.failure_reason = error.user_message
            proposal.error_type = error.error_type
            proposal.completed_at = timezone.now()
            proposal.save()
            TreatmentPlanAuditLog.record(
                TreatmentPlanAuditLog.Action.GENERATION_FAILED, proposal=proposal
            )
            raise error
        proposal.refresh_from_db()
        proposal.raw_response = FAKE_TEXT
        proposal.proposed_treatment = FAKE_TEXT
        proposal.clinical_assessment = "Hypertension, uncontrolled."
        proposal.generation_status = GS.COMPLETED
        proposal.completed_at = timezone.now()
        proposal.save()
        TreatmentPlanAuditLog.record(
            TreatmentPlanAuditLog.Action.GENERATION_SUCCEEDED, proposal=proposal
        )
        return proposal


def fake_validate(patient):
    return True, {"vital_signs": True, "diagnoses": True, "allergies_recorded": True}


def install_fake_generator(monkeypatch, *, ready: bool = True):
    """Replace the generator (and readiness check) with the stand-in; returns the class."""
    try:
        import healthcare.ai_treatment_generator as ai
    except ImportError:  # the AI core is not there yet: a module with the contract's names
        ai = types.ModuleType("healthcare.ai_treatment_generator")
        ai.GenerationError = GenerationError
        monkeypatch.setitem(sys.modules, "healthcare.ai_treatment_generator", ai)
        import healthcare

        monkeypatch.setattr(healthcare, "ai_treatment_generator", ai, raising=False)
    FakeGenerator.outcome = "complete"
    FakeGenerator.calls = []
    monkeypatch.setattr(ai, "TreatmentPlanGenerator", FakeGenerator, raising=False)
    if ready:
        monkeypatch.setattr(ai, "validate_patient_data_for_ai", fake_validate, raising=False)
    else:
        monkeypatch.setattr(
            ai,
            "validate_patient_data_for_ai",
            lambda patient: (False, {"vital_signs": False, "diagnoses": False}),
            raising=False,
        )
    return FakeGenerator
