"""The doctor's and the patient's dashboards."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import AIProposedTreatmentPlan, DoctorTreatmentPlan, PlanFeedback
from ..permissions import (
    Role,
    current_patient,
    current_provider,
    plans_for_doctor,
    plans_for_patient,
    proposals_for_doctor,
    require_role,
)

RECENT = 10
IN_PROGRESS = AIProposedTreatmentPlan.IN_PROGRESS_GENERATION
PlanStatus = DoctorTreatmentPlan.Status


@login_required
@require_role(Role.DOCTOR)
def doctor_dashboard(request: HttpRequest) -> HttpResponse:
    doctor = current_provider(request)
    proposals = proposals_for_doctor(doctor).select_related("patient").order_by("-created_at")
    plans = plans_for_doctor(doctor)
    unread = PlanFeedback.objects.filter(plan__provider=doctor, read_by_doctor_at__isnull=True)
    context = {
        "doctor": doctor,
        "ai_proposals": proposals[:RECENT],
        **proposals.aggregate(
            pending_count=Count("pk", filter=AIProposedTreatmentPlan.awaiting_review()),
            in_progress_count=Count("pk", filter=Q(generation_status__in=IN_PROGRESS)),
        ),
        **plans.aggregate(
            draft_count=Count("pk", filter=Q(status=PlanStatus.DRAFT)),
            active_count=Count("pk", filter=Q(status=PlanStatus.ACTIVE)),
        ),
        "unread_feedback": unread.select_related("plan__patient").order_by("-created_at")[:RECENT],
        "unread_feedback_count": unread.count(),
        "recent_acknowledgements": plans.filter(patient_acknowledged_at__isnull=False)
        .select_related("patient")
        .order_by("-patient_acknowledged_at")[:RECENT],
    }
    return render(request, "healthcare/doctor/dashboard.html", context)


@login_required
@require_role(Role.PATIENT)
def patient_dashboard(request: HttpRequest) -> HttpResponse:
    """The spec's "My Treatment Plans": current (active) plans first, newest first."""
    patient = current_patient(request)
    plans = (
        plans_for_patient(patient)
        .filter(status=PlanStatus.ACTIVE)
        .select_related("provider")
        .order_by("-published_at", "-created_at")
    )
    context = {"patient": patient, "treatment_plans": plans[:RECENT]}
    return render(request, "healthcare/patient/dashboard.html", context)
