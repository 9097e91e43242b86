"""Generating AI proposals in the background: the Generate page, live status, retry (issue 5).

Nothing here waits for the model: POST creates a queued proposal, enqueues the task and
redirects at once to the proposal's page, which polls `doctor_ai_proposal_status`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..forms.generation import GenerateProposalForm
from ..models import AIProposedTreatmentPlan, Patient, Provider
from ..permissions import (
    Role,
    current_provider,
    get_patient_for_doctor,
    get_proposal_for_doctor,
    require_role,
)
from ..services.generation import (
    generation_preview,
    in_progress_for,
    record_sections,
    recover_if_stale,
    request_generation,
    status_payload,
)

RETRYABLE = (
    AIProposedTreatmentPlan.GenerationStatus.FAILED,
    AIProposedTreatmentPlan.GenerationStatus.INCOMPLETE,
)


def _start_generation(
    request: HttpRequest, patient: Patient, provider: Provider | None, retry_of=None
) -> HttpResponse:
    try:
        started = request_generation(patient, provider, actor=request.user, retry_of=retry_of)
    except DatabaseError:
        messages.error(
            request, "The database is busy or unavailable: nothing was started. Please try again."
        )
        return redirect("doctor_generate_ai_proposal", patient_id=patient.pk)
    if started.enqueue_failed:
        messages.error(request, started.proposal.failure_reason)
    elif not started.created:
        messages.info(
            request, "A proposal for this patient is already being generated: here it is."
        )
    else:
        messages.success(request, "Generation started. The text appears below as the model writes.")
    return redirect("doctor_view_ai_proposal", proposal_id=started.proposal.pk)


@login_required
@require_role(Role.DOCTOR)
@require_http_methods(["GET", "POST"])
def doctor_generate_ai_proposal(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_doctor(request, patient_id)
    provider = current_provider(request)
    posted = request.method == "POST"
    preview = generation_preview(patient, with_data=not posted)
    data = request.POST if posted else None
    form = GenerateProposalForm(data, ready=preview.ready, problems=preview.problems)
    if form.is_valid():
        return _start_generation(request, patient, provider)
    if posted:  # re-rendered with the errors: show what would be sent, too
        preview.sections = record_sections(patient)
    context = {
        "patient": patient,
        "preview": preview,
        "form": form,
        "in_progress": in_progress_for(patient, provider).order_by("-created_at").first(),
    }
    return render(request, "healthcare/doctor/generate_ai_proposal.html", context)


@login_required
@require_role(Role.DOCTOR)
@require_GET
@never_cache
def doctor_ai_proposal_status(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_proposal_for_doctor(request, proposal_id)
    recover_if_stale(proposal)
    return JsonResponse(status_payload(proposal))


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_retry_ai_proposal(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_proposal_for_doctor(request, proposal_id)
    patient = get_patient_for_doctor(request, proposal.patient_id)
    if proposal.generation_status not in RETRYABLE:
        messages.info(request, "Only a failed or incomplete generation can be retried.")
        return redirect("doctor_view_ai_proposal", proposal_id=proposal.pk)
    return _start_generation(request, patient, proposal.provider, retry_of=proposal)
