"""Doctor pages for AI proposals: list, detail and review. Patients never reach these."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_POST

from ..forms import ProposalFilterForm, ProposalReviewForm
from ..models import AIProposedTreatmentPlan
from ..permissions import (
    Role,
    current_provider,
    get_proposal_for_doctor,
    proposals_for_doctor,
    require_role,
)
from ..services.reviews import ReviewError, review_proposal
from .listing import audit_entries, paginate

Status = AIProposedTreatmentPlan.Status


@login_required
@require_role(Role.DOCTOR)
def doctor_ai_proposals(request: HttpRequest) -> HttpResponse:
    """All AI proposals this doctor asked for, filterable by review and generation state."""
    proposals = proposals_for_doctor(current_provider(request))
    pending_count = proposals.filter(AIProposedTreatmentPlan.awaiting_review()).count()
    form = ProposalFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["status"]:
            proposals = proposals.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["generation_status"]:
            proposals = proposals.filter(generation_status=form.cleaned_data["generation_status"])
    page = paginate(request, proposals.select_related("patient").order_by("-created_at"))
    context = {"page": page, "proposals": page.object_list, "pending_count": pending_count}
    return render(request, "healthcare/doctor/ai_proposals_list.html", {**context, "form": form})


def _provenance(proposal: AIProposedTreatmentPlan) -> list[tuple[str, object]]:
    def seconds(ns):
        return None if ns is None else f"{ns / 1e9:.2f} s"

    def when(moment):  # the same format as every other time on the page
        return moment and date_format(timezone.localtime(moment), "M d, Y H:i:s")

    rows = [
        ("Model", proposal.ai_model_name),
        ("Model digest", proposal.model_digest),
        ("Ollama version", proposal.ollama_version),
        ("Ollama server", proposal.ollama_server),
        ("Prompt template", proposal.prompt_template_version),
        ("Prompt SHA-256", proposal.prompt_sha256),
        ("Response SHA-256", proposal.response_sha256),
        ("Structured (JSON) output", "yes" if proposal.structured_output else "no"),
        ("Context window (num_ctx)", proposal.num_ctx),
        ("Prompt tokens", proposal.prompt_tokens),
        ("Completion tokens", proposal.completion_tokens),
        ("Total tokens", proposal.total_tokens),
        (
            "Generation time",
            proposal.generation_time_seconds and f"{proposal.generation_time_seconds:.1f} s",
        ),
        ("Model load", seconds(proposal.load_duration_ns)),
        ("Prompt evaluation", seconds(proposal.prompt_eval_duration_ns)),
        ("Response generation", seconds(proposal.eval_duration_ns)),
        ("Done reason", proposal.done_reason),
        ("Attempts", proposal.attempts),
        ("Started", when(proposal.started_at)),
        ("Completed", when(proposal.completed_at)),
    ]
    return [(label, value) for label, value in rows if value not in (None, "")]


def _render_proposal(
    request: HttpRequest, proposal: AIProposedTreatmentPlan, form: ProposalReviewForm
) -> HttpResponse:
    context = {
        "proposal": proposal,
        "review_form": form,
        "provenance": _provenance(proposal),
        "input_snapshot_json": json.dumps(
            proposal.input_snapshot, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False
        ),
        "audit_entries": audit_entries(proposal=proposal),
        "plans_from_proposal": proposal.treatment_plans.order_by("-created_at"),
        "can_create_plan": proposal.is_reviewed and proposal.status != Status.REJECTED,
    }
    return render(request, "healthcare/doctor/ai_proposal_detail.html", context)


@login_required
@require_role(Role.DOCTOR)
def doctor_view_ai_proposal(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_proposal_for_doctor(request, proposal_id)
    initial = {"decision": proposal.status if proposal.is_reviewed else None}
    form = ProposalReviewForm(initial={**initial, "doctor_notes": proposal.doctor_notes})
    return _render_proposal(request, proposal, form)


@login_required
@require_role(Role.DOCTOR)
@require_POST
def doctor_review_ai_proposal(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_proposal_for_doctor(request, proposal_id)
    form = ProposalReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The review was not saved: please correct the errors below.")
        return _render_proposal(request, proposal, form)
    decision, notes = form.cleaned_data["decision"], form.cleaned_data["doctor_notes"]
    try:
        proposal = review_proposal(proposal, decision, notes, by=request.user)
    except ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Proposal marked as {proposal.get_status_display().lower()}.")
    return redirect("doctor_view_ai_proposal", proposal_id=proposal.pk)
