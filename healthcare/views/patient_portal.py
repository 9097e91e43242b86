"""Patient pages: their published treatment plans, acknowledgement and feedback.

Invariant 1: nothing here renders an AI proposal (sections or provenance) or a draft. Plans
come only through plans_for_patient / get_plan_for_patient, which exclude drafts.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..forms import AcknowledgePlanForm, PatientFeedbackForm
from ..models import DoctorTreatmentPlan
from ..permissions import (
    Role,
    current_patient,
    get_plan_for_patient,
    plans_for_patient,
    require_role,
)
from .listing import paginate


def published_versions(plan: DoctorTreatmentPlan) -> list[DoctorTreatmentPlan]:
    """The versions of a plan a patient may see: published ones only, never a draft revision."""
    return [version for version in plan.version_history() if version.is_published_to_patient]


def _render_plan(request: HttpRequest, plan: DoctorTreatmentPlan, feedback_form) -> HttpResponse:
    versions = published_versions(plan)
    newer = [v for v in versions if v.version > plan.version]
    context = {
        "plan": plan,
        "versions": versions,
        "newer_version": newer[-1] if newer else None,
        "feedback_messages": plan.feedback_messages.all(),
        "feedback_form": feedback_form,
        "acknowledge_form": AcknowledgePlanForm(),
    }
    return render(request, "healthcare/patient/treatment_plan_detail.html", context)


@login_required
@require_role(Role.PATIENT)
def patient_treatment_plans(request: HttpRequest) -> HttpResponse:
    plans = plans_for_patient(current_patient(request)).select_related("provider")
    page = paginate(request, plans.order_by("-published_at", "-created_at"))
    context = {"page": page, "plans": page.object_list}
    return render(request, "healthcare/patient/treatment_plans_list.html", context)


@login_required
@require_role(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def patient_view_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan; viewing marks it viewed. Also takes the spec's combined POST form."""
    plan = get_plan_for_patient(request, plan_id)
    plan.mark_patient_viewed(by=request.user)
    if request.method == "POST":
        if "acknowledge" in request.POST:
            return _acknowledge(request, plan)
        return _send_feedback(request, plan)
    return _render_plan(request, plan, PatientFeedbackForm())


@login_required
@require_role(Role.PATIENT)
@require_POST
def patient_acknowledge_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _acknowledge(request, get_plan_for_patient(request, plan_id))


@login_required
@require_role(Role.PATIENT)
@require_POST
def patient_send_feedback(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _send_feedback(request, get_plan_for_patient(request, plan_id))


def _acknowledge(request: HttpRequest, plan: DoctorTreatmentPlan) -> HttpResponse:
    if AcknowledgePlanForm(request.POST).is_valid():
        if plan.mark_patient_acknowledged(by=request.user):
            messages.success(request, "Thank you for acknowledging your treatment plan.")
        else:
            messages.info(request, "You had already acknowledged this plan.")
    return redirect("patient_view_treatment_plan", plan_id=plan.pk)


def _send_feedback(request: HttpRequest, plan: DoctorTreatmentPlan) -> HttpResponse:
    form = PatientFeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Your message was not sent: please correct the errors below.")
        return _render_plan(request, plan, form)
    try:
        plan.add_patient_feedback(form.cleaned_data["feedback_text"], by=request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Your feedback has been sent to your doctor.")
    return redirect("patient_view_treatment_plan", plan_id=plan.pk)
