"""Helpers for the clinical workflow tests (plans, proposals, patient portal)."""

from __future__ import annotations

from healthcare.models import AIProposedTreatmentPlan, DoctorTreatmentPlan
from healthcare.models import TreatmentPlanAuditLog as Audit

from .factories import AIProposedTreatmentPlanFactory, DoctorTreatmentPlanFactory

PROPOSAL_MARKER = "ZQX-AI-PROPOSAL-TEXT"
DRAFT_MARKER = "ZQX-DRAFT-PLAN-TEXT"


def make_proposal(patient, provider, **kwargs) -> AIProposedTreatmentPlan:
    return AIProposedTreatmentPlanFactory(patient=patient, provider=provider, **kwargs)


def make_reviewed_proposal(patient, provider, status="accepted", **kwargs):
    return make_proposal(patient, provider, status=status, **kwargs)


def marked_proposal(patient, provider, **kwargs) -> AIProposedTreatmentPlan:
    """A proposal whose every text field carries PROPOSAL_MARKER."""
    fields = (
        "proposed_treatment",
        "clinical_assessment",
        "treatment_goals",
        "medications_suggested",
        "lifestyle_recommendations",
        "follow_up_recommendations",
        "warnings_and_precautions",
        "raw_response",
        "doctor_notes",
        "failure_reason",
        "incomplete_reason",
    )
    values = {name: f"{PROPOSAL_MARKER}-{name}" for name in fields}
    values["safety_flags"] = [f"{PROPOSAL_MARKER}-flag"]
    values["input_snapshot"] = {"note": f"{PROPOSAL_MARKER}-snapshot"}
    return make_proposal(patient, provider, **{**values, **kwargs})


def make_plan(patient, provider, **kwargs) -> DoctorTreatmentPlan:
    return DoctorTreatmentPlanFactory(patient=patient, provider=provider, **kwargs)


def make_published_plan(patient, provider, **kwargs) -> DoctorTreatmentPlan:
    plan = make_plan(patient, provider, **kwargs)
    plan.publish_to_patient()
    return plan


def actions(**filters) -> list[str]:
    return list(
        Audit.objects.filter(**filters).order_by("audit_id").values_list("action", flat=True)
    )


def plan_form_data(**overrides) -> dict:
    data = {
        "plan_title": "Blood pressure plan",
        "assessment": "Stage 2 hypertension.",
        "treatment_goals": "BP below 130/80.",
        "medications": "Lisinopril 20 mg daily.",
        "lifestyle_modifications": "Less salt.",
        "dietary_recommendations": "",
        "exercise_recommendations": "",
        "follow_up_instructions": "Review in 2 weeks.",
        "warning_signs": "",
        "emergency_instructions": "",
        "plan_start_date": "",
        "plan_end_date": "",
        "next_review_date": "",
    }
    from django.utils import timezone

    data["plan_start_date"] = timezone.localdate().isoformat()
    data.update(overrides)
    return data
