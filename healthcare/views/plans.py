"""Doctor pages for treatment plans: list, detail, create (from scratch or from a reviewed AI
proposal), edit a draft, and the POST-only lifecycle actions (publish, revise, complete, cancel).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..forms import PlanFilterForm, TreatmentPlanForm
from ..models import DoctorTreatmentPlan, PlanFeedback
from ..permissions import (
    Role,
    current_provider,
    get_patient_for_doctor,
    get_plan_for_doctor,
    get_proposal_for_doctor,
    plans_for_doctor,
    require_role,
)
from ..services import plans as plan_service
from ..services.plans import PlanActionError
from .listing import audit_entries, paginate

Status = DoctorTreatmentPlan.Status


@login_required
@require_role(Role.DOCTOR)
def doctor_treatment_plans(request: HttpRequest) -> HttpResponse:
    plans = plans_for_doctor(current_provider(request))
    counts = plans.aggregate(
        draft_count=Count("pk", filter=Q(status=Status.DRAFT)),
        active_count=Count("pk", filter=Q(status=Status.ACTIVE)),
    )
    form = PlanFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["status"]:
            plans = plans.filter(status=form.cleaned_data["status"])
        if query := form.cleaned_data["q"].strip():
            plans = plans.filter(
                Q(plan_title__icontains=query)
                | Q(patient__first_name__icontains=query)
                | Q(patient__last_name__icontains=query)
            )
    # A correlated subquery, not a JOIN + GROUP BY: only the rows of the page are counted.
    unread = (
        PlanFeedback.objects.filter(plan=OuterRef("pk"), read_by_doctor_at=None)
        .order_by()
        .values("plan")
        .annotate(n=Count("pk"))
        .values("n")
    )
    plans = plans.select_related("patient").annotate(
        unread_feedback=Coalesce(Subquery(unread, output_field=IntegerField()), 0)
    )
    page = paginate(request, plans.order_by("-created_at"))
    context = {"page": page, "plans": page.object_list, "form": form, **counts}
    return render(request, "healthcare/doctor/treatment_plans_list.html", context)


@login_required
@require_role(Role.DOCTOR)
def doctor_view_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    feedback = list(plan.feedback_messages.all())  # read before marking, to show what was new
    plan_service.mark_feedback_read(plan)
    versions = plan.version_history()  # already holds the revision of this version, if any
    context = {
        "plan": plan,
        "versions": versions,
        "next_version": next((v for v in versions if v.previous_version_id == plan.pk), None),
        "feedback_messages": feedback,
        "audit_entries": audit_entries(plan=plan),
    }
    return render(request, "healthcare/doctor/treatment_plan_detail.html", context)


@login_required
@require_role(Role.DOCTOR)
def doctor_create_treatment_plan(
    request: HttpRequest, patient_id: int, proposal_id: int | None = None
) -> HttpResponse:
    """A new draft plan; from a reviewed AI proposal of this patient when proposal_id is given."""
    patient = get_patient_for_doctor(request, patient_id)
    doctor = current_provider(request)
    proposal = get_proposal_for_doctor(request, proposal_id) if proposal_id else None
    if proposal is not None:
        try:
            plan_service.check_proposal_usable(proposal, patient, doctor)
        except PlanActionError as error:
            messages.error(request, str(error))
            return redirect("doctor_view_ai_proposal", proposal_id=proposal.pk)
    initial = plan_service.initial_from_proposal(proposal) if proposal else None
    form = TreatmentPlanForm(request.POST or None, initial=initial, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_service.create_plan(
                patient=patient,
                provider=doctor,
                data=form.cleaned_data,
                by=request.user,
                proposal=proposal,
            )
        except PlanActionError as error:
            messages.error(request, str(error))
        else:
            return _after_save(request, plan, publish=form.cleaned_data["publish"])
    context = {"form": form, "patient": patient, "ai_proposal": proposal, "plan": None}
    return render(request, "healthcare/doctor/treatment_plan_form.html", context)


def _after_save(request: HttpRequest, plan: DoctorTreatmentPlan, *, publish: bool) -> HttpResponse:
    if publish:
        try:
            plan_service.publish_plan(plan, by=request.user)
        except PlanActionError as error:
            messages.error(request, f"Saved as a draft, but not published: {error}")
        else:
            messages.success(request, "Treatment plan saved and published to the patient.")
            return redirect("doctor_view_treatment_plan", plan_id=plan.pk)
    messages.success(request, "Treatment plan saved as a draft; the patient cannot see it yet.")
    return redirect("doctor_view_treatment_plan", plan_id=plan.pk)


@login_required
@require_role(Role.DOCTOR)
def doctor_edit_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    if not plan.is_editable:
        messages.error(request, "Only a draft can be edited. Revise the plan to change it.")
        return redirect("doctor_view_treatment_plan", plan_id=plan.pk)
    form = TreatmentPlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            plan_service.update_draft(plan, form.cleaned_data, by=request.user)
        except PlanActionError as error:
            messages.error(request, str(error))
            return redirect("doctor_view_treatment_plan", plan_id=plan.pk)
        return _after_save(request, plan, publish=form.cleaned_data["publish"])
    context = {"form": form, "patient": plan.patient, "ai_proposal": plan.ai_proposal, "plan": plan}
    return render(request, "healthcare/doctor/treatment_plan_form.html", context)


def _plan_action(
    request: HttpRequest,
    plan: DoctorTreatmentPlan,
    action: Callable,
    success: str,
    *,
    then: DoctorTreatmentPlan | None = None,
) -> HttpResponse:
    """Run one lifecycle service on a plan of this doctor; report the outcome as a message.

    On success go to `then`, or to the plan the service returns (a revision is a new plan).
    """
    try:
        result = action(plan, by=request.user)
    except PlanActionError as error:
        messages.error(request, str(error))
        return redirect("doctor_view_treatment_plan", plan_id=plan.pk)
    messages.success(request, success)
    return redirect("doctor_view_treatment_plan", plan_id=(then or result).pk)


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_publish_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    return _plan_action(
        request, plan, plan_service.publish_plan, "Treatment plan published to the patient."
    )


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_revise_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    return _plan_action(
        request,
        plan,
        plan_service.revise_plan,
        "New version created as a draft. The current version stays active until you publish it.",
    )


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_complete_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    return _plan_action(
        request, plan, plan_service.complete_plan, "Treatment plan marked as completed."
    )


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_cancel_treatment_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_doctor(request, plan_id)
    revised = plan.previous_version if plan.status == Status.DRAFT else None
    if revised is None:
        return _plan_action(request, plan, plan_service.cancel_plan, "Treatment plan cancelled.")
    # Discarding a draft revision: back to the version the patient still follows.
    message = (
        f"Revision v{plan.version} discarded; version {revised.version} is unchanged "
        f"({revised.get_status_display().lower()})."
    )
    return _plan_action(request, plan, plan_service.cancel_plan, message, then=revised)
