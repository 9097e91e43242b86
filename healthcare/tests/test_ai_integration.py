"""The AI core against a real Ollama server (OLLAMA_TEST_URL; tiny model registered as llama3.2).

Assert structure and behaviour, never wording: the test model's medical content is poor.
The record is the same in every test (fixed dates), so the server's prompt cache makes the
later generations cheap.
"""

from __future__ import annotations

import hashlib

import pytest

from healthcare.ai.parsing import SECTION_FIELDS
from healthcare.ai_treatment_generator import (
    SERVER_HEALTH,
    OllamaAPIClient,
    OllamaModelNotFoundError,
    TreatmentPlanGenerator,
    generate_ai_treatment_plan,
)
from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog

from .ai_fakes import (
    make_record,
)

pytestmark = pytest.mark.ollama


@pytest.fixture
def real_ollama(ollama_url, settings):
    settings.OLLAMA_API_URL = ollama_url
    settings.OLLAMA_MODEL = "llama3.2"
    settings.OLLAMA_TIMEOUT = 600
    settings.OLLAMA_NUM_PREDICT = 384
    # The 135M test model loops without it; a real llama3.2 does not need it.
    settings.OLLAMA_EXTRA_OPTIONS = {"repeat_penalty": 1.3, "seed": 42}
    settings.AI_HEARTBEAT_SECONDS = 0.5
    return ollama_url


def test_generation_against_the_real_server(real_ollama, patient, doctor):
    make_record(patient)
    row = AIProposedTreatmentPlan.objects.create(
        patient=patient, provider=doctor, generation_status="queued"
    )
    progress = []

    proposal = TreatmentPlanGenerator().generate_treatment_plan(
        patient, doctor, proposal=row, on_progress=progress.append
    )

    proposal.refresh_from_db()
    assert proposal.generation_status in ("completed", "incomplete")
    assert proposal.status == "pending"
    assert proposal.proposed_treatment.strip()
    filled = [f for f in SECTION_FIELDS if getattr(proposal, f).strip()]
    assert len(filled) >= 3, proposal.incomplete_reason
    assert proposal.prompt_tokens > 0 and proposal.completion_tokens > 0
    assert proposal.prompt_tokens < proposal.num_ctx  # the whole prompt was read
    assert proposal.total_duration_ns > 0 and proposal.eval_duration_ns > 0
    assert proposal.generation_time_seconds > 0
    assert proposal.done_reason in ("stop", "length")
    client = OllamaAPIClient()
    (entry,) = [m for m in client.list_models() if m["name"].startswith("llama3.2")]
    assert proposal.model_digest == entry["digest"]
    assert proposal.ollama_version == client.version()
    assert proposal.ollama_server == real_ollama
    assert proposal.response_sha256 == hashlib.sha256(proposal.raw_response.encode()).hexdigest()
    assert proposal.input_snapshot["vital_signs"]
    # streamed: progress arrived while the model wrote, growing
    assert progress and progress[-1] and len(progress[-1]) <= len(proposal.raw_response)
    assert TreatmentPlanAuditLog.objects.filter(
        proposal=proposal,
        action__in=["generation_succeeded", "generation_incomplete"],
    ).exists()


def test_unknown_model_gives_model_not_found(real_ollama, patient, doctor):
    make_record(patient)
    with pytest.raises(OllamaModelNotFoundError, match="ollama pull no-such-model"):
        generate_ai_treatment_plan(
            patient_id=patient.patient_id, provider_id=doctor.provider_id, model="no-such-model"
        )
    proposal = AIProposedTreatmentPlan.objects.get(patient=patient)
    assert proposal.generation_status == "failed"
    assert proposal.error_type == "model_not_found"


def test_client_generate_chat_and_stream(real_ollama):
    client = OllamaAPIClient()
    options = {"num_predict": 8, "temperature": 0}
    result = client.generate("Say hello.", options=options)
    assert result["response"] and result["prompt_tokens"] > 0
    assert result["completion_tokens"] > 0 and result["done_reason"] in ("stop", "length")
    chunks = []
    streamed = client.chat(
        [{"role": "user", "content": "Say hello."}],
        stream=True,
        options=options,
        on_chunk=chunks.append,
    )
    assert streamed["response"] and chunks[-1] == streamed["response"]
    assert client.check_ready().ready


def test_failover_from_a_dead_server_to_the_real_one(real_ollama, settings):
    settings.OLLAMA_API_URL = f"http://127.0.0.1:9,{real_ollama}"
    result = OllamaAPIClient().generate("Say hello.", options={"num_predict": 4})
    assert result["server"] == real_ollama
    assert SERVER_HEALTH.is_down("http://127.0.0.1:9")
