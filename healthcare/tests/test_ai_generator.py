"""TreatmentPlanGenerator.generate_treatment_plan end to end against a faked Ollama."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import requests

from healthcare.ai.parsing import TREATMENT_PLAN_SCHEMA
from healthcare.ai_treatment_generator import (
    PROMPT_TEMPLATE_VERSION,
    GenerationError,
    InsufficientPatientDataError,
    OllamaBusyError,
    OllamaModelNotFoundError,
    OllamaResponseError,
    OllamaServerError,
    OllamaTimeoutError,
    OllamaUnavailableError,
    TreatmentPlanGenerator,
    generate_ai_treatment_plan,
)
from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog
from healthcare.tests import factories as f

from .ai_fakes import (
    DIGEST,
    INJECTION,
    SECTIONS_JSON,
    URL,
    add_generate_stream,
    add_success,
    add_tags,
    add_version,
    json_reply_text,
    ndjson,
    sent_payload,
)
from .ai_fakes import make_record as _make_record

pytestmark = pytest.mark.unused_replies_ok

GEN = f"{URL}/api/generate"
Action = TreatmentPlanAuditLog.Action


@pytest.fixture(autouse=True)
def _ollama_settings(settings):
    settings.OLLAMA_API_URL = URL
    settings.OLLAMA_MODEL = "llama3.2"
    settings.OLLAMA_NUM_PREDICT = 512
    settings.OLLAMA_MAX_NUM_CTX = 8192
    settings.OLLAMA_KEEP_ALIVE = "30m"


@pytest.fixture
def record(patient):
    _make_record(patient)
    return patient


def audit_actions(proposal):
    return list(
        TreatmentPlanAuditLog.objects.filter(proposal=proposal)
        .order_by("audit_id")
        .values_list("action", flat=True)
    )


# --- Success ------------------------------------------------------------------------------------
def test_success_saves_a_pending_proposal_with_provenance(rsps, record, doctor):
    add_success(rsps)
    generator = TreatmentPlanGenerator(model="llama3.2")

    proposal = generator.generate_treatment_plan(record, doctor)

    proposal.refresh_from_db()
    assert proposal.status == "pending"
    assert proposal.generation_status == "completed"
    assert proposal.patient == record and proposal.provider == doctor
    assert proposal.medications_suggested == SECTIONS_JSON["medications"]
    assert proposal.clinical_assessment == SECTIONS_JSON["clinical_assessment"]
    assert proposal.treatment_goals == SECTIONS_JSON["treatment_goals"]
    assert proposal.lifestyle_recommendations == SECTIONS_JSON["lifestyle_recommendations"]
    assert proposal.follow_up_recommendations == SECTIONS_JSON["follow_up"]
    assert proposal.warnings_and_precautions == SECTIONS_JSON["warnings_and_precautions"]
    assert "Medications:" in proposal.proposed_treatment
    assert proposal.structured_output is True
    assert proposal.raw_response == json_reply_text()
    assert proposal.response_sha256 == hashlib.sha256(json_reply_text().encode()).hexdigest()
    assert proposal.prompt_template_version == PROMPT_TEMPLATE_VERSION
    assert len(proposal.prompt_sha256) == 64
    assert proposal.model_digest == DIGEST
    assert proposal.ollama_version == "0.5.4"
    assert proposal.ollama_server == URL
    assert proposal.ai_model_name == "llama3.2"
    assert (proposal.prompt_tokens, proposal.completion_tokens) == (900, 120)
    assert proposal.total_duration_ns == 5_000_000_000
    assert proposal.load_duration_ns == 1_000_000_000
    assert proposal.prompt_eval_duration_ns == 2_000_000_000
    assert proposal.eval_duration_ns == 2_000_000_000
    assert proposal.done_reason == "stop"
    assert proposal.generation_time_seconds is not None
    assert proposal.attempts == 1
    assert proposal.started_at and proposal.completed_at and proposal.heartbeat_at
    assert proposal.incomplete_reason == proposal.failure_reason == ""
    assert audit_actions(proposal) == [Action.GENERATION_REQUESTED, Action.GENERATION_SUCCEEDED]


def test_the_request_sent_to_ollama(rsps, record, doctor):
    add_success(rsps)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    sent = sent_payload(rsps)
    assert sent["model"] == "llama3.2"
    assert sent["stream"] is True
    assert sent["format"] == TREATMENT_PLAN_SCHEMA
    assert sent["keep_alive"] == "30m"
    assert "clinical decision support" in sent["system"]
    assert sent["options"]["num_ctx"] == proposal.num_ctx
    assert sent["options"]["num_predict"] == 512
    assert sent["options"]["temperature"] == 0.2
    assert proposal.generation_options["num_ctx"] == proposal.num_ctx
    assert proposal.generation_options["keep_alive"] == "30m"
    full = sent["system"] + "\n\n" + sent["prompt"]
    assert proposal.prompt_sha256 == hashlib.sha256(full.encode()).hexdigest()


def test_snapshot_is_exactly_the_data_sent(rsps, record, doctor):
    add_success(rsps)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    proposal.refresh_from_db()
    snap = proposal.input_snapshot
    assert snap["demographics"]["age"] == record.age
    assert snap["prompt_budget"]["num_ctx"] == proposal.num_ctx
    assert snap["social_history"]["pack_years"] == "12.5"
    prompt = sent_payload(rsps)["prompt"]
    for vital in snap["vital_signs"]:
        assert vital["recorded_at"] in prompt


def test_audit_rows_carry_no_patient_text(rsps, record, doctor):
    add_success(rsps)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    changes = json.dumps(
        [e.changes for e in TreatmentPlanAuditLog.objects.filter(proposal=proposal)]
    )
    for text in [
        record.first_name,
        record.last_name,
        record.mrn,
        "Penicillin",
        "lisinopril",
        "Lisinopril",
        "headaches",
    ]:
        assert text not in changes
    assert TreatmentPlanAuditLog.objects.filter(proposal=proposal).first().actor == doctor.user


def test_logs_carry_ids_and_outcomes_only(rsps, record, doctor, caplog):
    add_success(rsps)
    with caplog.at_level(logging.DEBUG, logger="healthcare.ai"):
        proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"proposal={proposal.pk}" in text
    for secret in [
        record.first_name,
        record.last_name,
        record.mrn,
        "Penicillin",
        "Increase",
        "headaches",
        "Task:",
    ]:
        assert secret not in text


def test_provider_defaults_to_the_primary_doctor(rsps, record, doctor):
    add_success(rsps)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record)
    assert proposal.provider == doctor


def test_convenience_function(rsps, record, doctor):
    add_success(rsps)
    proposal = generate_ai_treatment_plan(
        patient_id=record.patient_id, provider_id=doctor.provider_id, model="llama3.2"
    )
    assert isinstance(proposal, AIProposedTreatmentPlan)
    assert proposal.generation_status == "completed"
    assert proposal.provider == doctor


def test_injection_in_social_notes_is_flagged_on_the_proposal(rsps, patient, doctor):
    _make_record(patient, social_notes=INJECTION)
    add_success(rsps)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(patient, doctor)
    codes = [fl["code"] for fl in proposal.safety_flags]
    assert "possible_prompt_injection" in codes
    assert proposal.generation_status == "completed"


def test_provenance_lookup_failure_does_not_fail_the_proposal(rsps, record, doctor):
    add_generate_stream(rsps, json_reply_text())
    rsps.add(rsps.GET, f"{URL}/api/tags", status=500, json={"error": "boom"})
    rsps.add(rsps.GET, f"{URL}/api/version", status=500, json={"error": "boom"})
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert proposal.generation_status == "completed"
    assert proposal.model_digest == ""


# --- Incomplete ----------------------------------------------------------------------------------
def test_done_reason_length_is_kept_but_flagged_incomplete(rsps, record, doctor):
    add_success(rsps, done_reason="length")
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert proposal.generation_status == "incomplete"
    assert proposal.status == "pending"
    assert "length limit" in proposal.incomplete_reason
    assert proposal.done_reason == "length"
    assert audit_actions(proposal)[-1] == Action.GENERATION_INCOMPLETE


def test_schema_breaking_cut_json_is_incomplete_and_flagged(rsps, record, doctor):
    text = json_reply_text()
    add_success(rsps, text=text[: text.index('"follow_up"')], done_reason="length")
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert proposal.generation_status == "incomplete"
    assert proposal.medications_suggested == SECTIONS_JSON["medications"]
    assert proposal.structured_output is False
    assert "follow-up" in proposal.incomplete_reason
    assert "unstructured_reply" in [fl["code"] for fl in proposal.safety_flags]


def test_free_text_reply_missing_sections_is_incomplete(rsps, record, doctor):
    add_success(rsps, text="## MEDICATIONS\nLisinopril 20 mg\n## Follow-up\n2 weeks")
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert proposal.generation_status == "incomplete"
    assert proposal.medications_suggested == "Lisinopril 20 mg"
    assert "warnings and precautions" in proposal.incomplete_reason


def test_prompt_filling_the_context_is_flagged_as_truncated(rsps, record, doctor):
    add_success(rsps, prompt_tokens=8192)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert proposal.generation_status == "incomplete"
    assert "context window" in proposal.incomplete_reason
    assert "possible_prompt_truncation" in [fl["code"] for fl in proposal.safety_flags]


def test_prompt_tokens_far_below_estimate_is_flagged(rsps, record, doctor):
    add_success(rsps, prompt_tokens=5)
    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    assert "prompt_tokens_low" in [fl["code"] for fl in proposal.safety_flags]


# --- Failures -----------------------------------------------------------------------------------
FAILURES = [
    (dict(status=404, json={"error": "model 'llama3.2' not found"}), OllamaModelNotFoundError),
    (dict(status=500, json={"error": "runner crashed"}), OllamaServerError),
    (dict(status=503, json={"error": "server busy"}), OllamaBusyError),
    (dict(body=requests.exceptions.ReadTimeout("timed out")), OllamaTimeoutError),
    (dict(body=requests.exceptions.ConnectionError("refused")), OllamaUnavailableError),
    (dict(body="not json at all\n"), OllamaResponseError),
    (
        dict(body=ndjson([{"response": "Start", "done": False}, {"error": "model crashed"}])),
        OllamaServerError,
    ),
    (
        dict(body=ndjson([{"response": "", "done": True, "done_reason": "stop"}])),
        OllamaResponseError,
    ),
]


@pytest.mark.parametrize(
    ("reply", "error"),
    FAILURES,
    ids=["404", "500", "503", "timeout", "refused", "malformed", "error-mid-stream", "empty"],
)
def test_failures_raise_typed_errors_and_leave_a_record(rsps, record, doctor, reply, error):
    rsps.add(rsps.POST, GEN, **reply)
    with pytest.raises(error) as info:
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor)

    proposal = AIProposedTreatmentPlan.objects.get(patient=record)
    assert proposal.generation_status == "failed"
    assert proposal.failure_reason == info.value.user_message
    assert proposal.error_type == info.value.error_type
    assert proposal.provider == doctor
    assert proposal.completed_at is not None
    assert proposal.prompt_sha256  # what was sent is kept
    assert proposal.input_snapshot["vital_signs"]
    assert audit_actions(proposal) == [Action.GENERATION_REQUESTED, Action.GENERATION_FAILED]
    failed = TreatmentPlanAuditLog.objects.get(proposal=proposal, action=Action.GENERATION_FAILED)
    assert failed.changes["error_type"] == info.value.error_type
    assert failed.actor == doctor.user


def test_model_not_found_message_tells_how_to_fix(rsps, record, doctor):
    rsps.add(rsps.POST, GEN, status=404, json={"error": "model 'llama3.2' not found"})
    with pytest.raises(OllamaModelNotFoundError):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    proposal = AIProposedTreatmentPlan.objects.get(patient=record)
    assert "ollama pull llama3.2" in proposal.failure_reason


def test_thin_record_is_refused_with_what_is_missing(rsps, patient, doctor):
    encounter = f.EncounterFactory(patient=patient)
    f.VitalSignFactory(encounter=encounter)

    with pytest.raises(InsufficientPatientDataError) as info:
        TreatmentPlanGenerator().generate_treatment_plan(patient, doctor)

    message = info.value.user_message
    assert "at least 3 vital-sign readings" in message
    assert "a diagnosis" in message
    assert "medical history" in message
    assert info.value.missing == ["vitals", "diagnoses", "medical_history"]
    assert len(rsps.calls) == 0  # Ollama never asked
    proposal = AIProposedTreatmentPlan.objects.get(patient=patient)
    assert proposal.generation_status == "failed"
    assert proposal.error_type == "insufficient_data"
    assert audit_actions(proposal)[-1] == Action.GENERATION_FAILED


def test_unexpected_errors_are_recorded_and_re_raised(rsps, record, doctor, monkeypatch):
    add_success(rsps)

    def broken(self, text):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(TreatmentPlanGenerator, "parse_ai_response", broken)
    with pytest.raises(RuntimeError):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor)
    proposal = AIProposedTreatmentPlan.objects.get(patient=record)
    assert proposal.generation_status == "failed"
    assert proposal.error_type == "internal_error"


def test_failures_are_generation_errors(rsps, record, doctor):
    rsps.add(rsps.POST, GEN, status=503, json={"error": "busy"})
    with pytest.raises(GenerationError):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor)


# --- An existing (queued) proposal, heartbeat and progress ------------------------------------
def queued(patient, doctor, **kw):
    return AIProposedTreatmentPlan.objects.create(
        patient=patient, provider=doctor, generation_status="queued", **kw
    )


def test_fills_the_given_queued_proposal(rsps, record, doctor):
    add_success(rsps)
    row = queued(record, doctor, task_id="task-1", attempts=1)

    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor, proposal=row)

    assert proposal.pk == row.pk
    assert AIProposedTreatmentPlan.objects.count() == 1
    row.refresh_from_db()
    assert row.generation_status == "completed"
    assert row.attempts == 2
    assert row.task_id == "task-1"
    assert audit_actions(row) == [Action.GENERATION_SUCCEEDED]  # the caller audits the request


def test_a_running_proposal_can_be_resumed(rsps, record, doctor):
    add_success(rsps)
    row = queued(record, doctor)
    AIProposedTreatmentPlan.objects.filter(pk=row.pk).update(generation_status="running")
    row.refresh_from_db()
    TreatmentPlanGenerator().generate_treatment_plan(record, doctor, proposal=row)
    row.refresh_from_db()
    assert row.generation_status == "completed"


def test_a_finished_proposal_is_not_regenerated(record, doctor):
    row = f.AIProposedTreatmentPlanFactory(patient=record, provider=doctor)
    with pytest.raises(ValueError, match="queued or running"):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor, proposal=row)


def test_a_proposal_of_another_patient_is_refused(record, doctor, other_patient):
    row = queued(other_patient, doctor)
    with pytest.raises(ValueError, match="another patient"):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor, proposal=row)


def test_failure_on_a_given_proposal_marks_that_row(rsps, record, doctor):
    rsps.add(rsps.POST, GEN, status=503, json={"error": "busy"})
    row = queued(record, doctor)
    with pytest.raises(OllamaBusyError):
        TreatmentPlanGenerator().generate_treatment_plan(record, doctor, proposal=row)
    row.refresh_from_db()
    assert row.generation_status == "failed"
    assert "busy" in row.failure_reason


def test_heartbeat_saves_partial_text_and_reports_progress(rsps, record, doctor, settings):
    settings.AI_HEARTBEAT_SECONDS = 0  # every chunk, so the test needs no clock
    add_success(rsps)
    row = queued(record, doctor, task_id="task-7")
    seen = []

    def on_progress(text):
        stored = AIProposedTreatmentPlan.objects.get(pk=row.pk)
        seen.append((text, stored.raw_response, stored.generation_status))
        # another process changes a field meanwhile: the generator must not clobber it
        AIProposedTreatmentPlan.objects.filter(pk=row.pk).update(task_id="task-8")

    TreatmentPlanGenerator().generate_treatment_plan(
        record, doctor, proposal=row, on_progress=on_progress
    )

    assert len(seen) > 3
    assert all(text == stored for text, stored, _ in seen)
    assert all(status == "running" for _, _, status in seen)
    assert [len(t) for t, _, _ in seen] == sorted(len(t) for t, _, _ in seen)
    assert seen[-1][0] == json_reply_text()
    row.refresh_from_db()
    assert row.task_id == "task-8"
    assert row.generation_status == "completed"


def test_heartbeat_is_throttled(rsps, record, doctor, settings):
    settings.AI_HEARTBEAT_SECONDS = 3600
    add_success(rsps)
    seen = []
    TreatmentPlanGenerator().generate_treatment_plan(record, doctor, on_progress=seen.append)
    assert seen == []


def test_a_broken_progress_listener_does_not_stop_generation(rsps, record, doctor, settings):
    settings.AI_HEARTBEAT_SECONDS = 0
    add_success(rsps)

    def explode(text):
        raise RuntimeError("listener gone")

    proposal = TreatmentPlanGenerator().generate_treatment_plan(record, doctor, on_progress=explode)
    assert proposal.generation_status == "completed"


def test_chat_style_model_options_can_be_overridden(rsps, record, doctor):
    add_success(rsps)
    TreatmentPlanGenerator(
        options={"temperature": 0.0, "num_predict": 300}
    ).generate_treatment_plan(record, doctor)
    options = sent_payload(rsps)["options"]
    assert options["temperature"] == 0.0
    assert options["num_predict"] == 300


def test_without_structured_output_no_format_is_sent(rsps, record, doctor):
    add_success(
        rsps,
        text="## Assessment\nA\n## Goals\nB\n## Medications\nC\n## Lifestyle\nD\n"
        "## Follow-up\nE\n## Warnings\nF",
    )
    proposal = TreatmentPlanGenerator(structured_output=False).generate_treatment_plan(
        record, doctor
    )
    assert "format" not in sent_payload(rsps)
    assert proposal.generation_status == "completed"
    assert proposal.warnings_and_precautions == "F"


def test_tags_and_version_are_asked_once_per_client(rsps, record, doctor):
    add_generate_stream(rsps, json_reply_text())
    add_generate_stream(rsps, json_reply_text())
    add_tags(rsps)
    add_version(rsps)
    generator = TreatmentPlanGenerator()
    generator.generate_treatment_plan(record, doctor)
    generator.generate_treatment_plan(record, doctor)
    assert sum(c.request.url.endswith("/api/tags") for c in rsps.calls) == 1
    assert sum(c.request.url.endswith("/api/version") for c in rsps.calls) == 1
