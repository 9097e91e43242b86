"""The specification's examples, run as written against a real Ollama server.

Sections "Ollama Integration", "Setup and Configuration / 6. Test Ollama Connection",
"Treatment Plan Generation" and "Usage Examples / Review AI Proposal" of
../shared/spec/AI_TREATMENT_PLAN_SYSTEM.md. Only the ids (123, 456, 789 in the spec) come from
the test database. num_predict is kept small through settings (the examples do not set it).
"""

from __future__ import annotations

import pytest

from .ai_fakes import (
    make_record,
)

pytestmark = pytest.mark.ollama


@pytest.fixture(autouse=True)
def real_ollama(ollama_url, settings):
    settings.OLLAMA_API_URL = ollama_url
    settings.OLLAMA_TIMEOUT = 600
    settings.OLLAMA_NUM_PREDICT = 384
    # The 135M test model loops without a repeat penalty; the seed keeps runs alike.
    settings.OLLAMA_EXTRA_OPTIONS = {"repeat_penalty": 1.3, "seed": 42}
    return ollama_url


def test_ollama_integration_example(capsys, settings):
    settings.OLLAMA_NUM_PREDICT = 16
    # --- as in the specification ---
    from healthcare.ai_treatment_generator import OllamaAPIClient

    client = OllamaAPIClient(model="llama3.2")
    result = client.generate(
        prompt="Generate a treatment plan...",
        options={"temperature": 0.7, "top_p": 0.9, "top_k": 40},
    )

    print(f"Response: {result['response']}")
    print(f"Time: {result['generation_time']}s")
    print(f"Tokens: {result['prompt_tokens']} + {result['completion_tokens']}")
    # --- end ---
    out = capsys.readouterr().out
    assert result["response"]
    assert result["generation_time"] > 0
    assert result["prompt_tokens"] > 0 and result["completion_tokens"] > 0
    assert f"Tokens: {result['prompt_tokens']} + {result['completion_tokens']}" in out


def test_test_ollama_connection_example(capsys, settings):
    settings.OLLAMA_NUM_PREDICT = 16
    from healthcare.ai_treatment_generator import OllamaAPIClient

    client = OllamaAPIClient()
    result = client.generate("Test prompt: Say 'Hello World'")
    print(result["response"])

    assert capsys.readouterr().out.strip()


def test_treatment_plan_generation_and_review_examples(capsys, patient, doctor):
    make_record(patient)
    patient_id, provider_id = patient.patient_id, doctor.provider_id

    # --- "Treatment Plan Generation", as in the specification ---
    from healthcare.ai_treatment_generator import TreatmentPlanGenerator
    from healthcare.models import Patient, Provider

    # Create generator
    generator = TreatmentPlanGenerator(model="llama3.2")

    # Get patient and doctor
    patient = Patient.objects.get(patient_id=patient_id)
    doctor = Provider.objects.get(provider_id=provider_id)

    # Generate AI proposal
    proposal = generator.generate_treatment_plan(patient, doctor)

    print(f"Proposal ID: {proposal.proposal_id}")
    print(f"Status: {proposal.status}")
    print(f"Generated in: {proposal.generation_time_seconds}s")
    print(f"\n{proposal.proposed_treatment}")
    # --- end ---
    out = capsys.readouterr().out
    assert f"Proposal ID: {proposal.proposal_id}" in out
    assert "Status: pending" in out
    assert proposal.generation_time_seconds > 0
    assert proposal.proposed_treatment.strip()
    proposal_id = proposal.proposal_id

    # --- "Usage Examples / 2. Review AI Proposal", as in the specification ---
    from healthcare.models import AIProposedTreatmentPlan

    # Get proposal
    proposal = AIProposedTreatmentPlan.objects.get(proposal_id=proposal_id)

    # Review the AI suggestions
    print(f"Proposed Treatment:\n{proposal.proposed_treatment}")
    print(f"\nMedications:\n{proposal.medications_suggested}")
    print(f"\nLifestyle:\n{proposal.lifestyle_recommendations}")

    # Doctor decides to accept it
    proposal.mark_as_accepted("This looks good, I'll use it as a base")
    # --- end ---
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    assert proposal.doctor_notes == "This looks good, I'll use it as a base"
    assert proposal.reviewed_by == doctor.user and proposal.reviewed_at

    # Or modify
    proposal.mark_as_modified("I adjusted the medication dosages")
    proposal.refresh_from_db()
    assert proposal.status == "modified"

    # Or reject
    proposal.mark_as_rejected("Not appropriate for this patient")
    proposal.refresh_from_db()
    assert proposal.status == "rejected"
    assert proposal.doctor_notes == "Not appropriate for this patient"


def test_convenience_function_example(patient, doctor):
    make_record(patient)
    patient_id, provider_id = patient.patient_id, doctor.provider_id

    # --- as in the specification ---
    from healthcare.ai_treatment_generator import generate_ai_treatment_plan

    # Simple one-liner
    proposal = generate_ai_treatment_plan(
        patient_id=patient_id, provider_id=provider_id, model="llama3.2"
    )
    # --- end ---
    assert proposal.pk and proposal.status == "pending"
    assert proposal.generation_status in ("completed", "incomplete")
    assert proposal.patient_id == patient_id and proposal.provider_id == provider_id
    assert proposal.proposed_treatment.strip()


def test_api_reference_signatures_and_chat(settings, ollama_url):
    """ "API Reference": the constructors with positional arguments, and chat(messages)."""
    settings.OLLAMA_NUM_PREDICT = 16
    from healthcare.ai_treatment_generator import OllamaAPIClient, TreatmentPlanGenerator

    client = OllamaAPIClient(ollama_url, "llama3.2")
    result = client.chat([{"role": "user", "content": "Say 'Hello World'"}])
    generator = TreatmentPlanGenerator("llama3.2")

    assert client.base_url == ollama_url.rstrip("/") and client.model == "llama3.2"
    assert generator.model == "llama3.2"
    for key in ("response", "prompt_tokens", "completion_tokens", "generation_time"):
        assert result[key], key
    assert result["message"]["content"] == result["response"]
    assert result["num_ctx"] >= 2048 and result["prompt_truncated"] is False


def test_usage_example_generate_proposal_for_patient(rf, patient, doctor):
    """ "Usage Examples / For Doctors / 1. Generate AI Treatment Proposal", in a view-like
    function with the doctor's request (the project's own views queue it instead)."""
    make_record(patient)
    request = rf.get("/")
    request.user = doctor.user

    # --- as in the specification ---
    from healthcare.ai_treatment_generator import TreatmentPlanGenerator
    from healthcare.models import Patient

    def generate_proposal_for_patient(request, patient_id):
        patient = Patient.objects.get(patient_id=patient_id)
        doctor = request.user.profile.provider  # Current logged-in doctor

        # Generate AI proposal
        generator = TreatmentPlanGenerator()
        proposal = generator.generate_treatment_plan(patient, doctor)

        # Proposal is now in database with status='pending'
        return proposal

    # --- end ---
    proposal = generate_proposal_for_patient(request, patient.patient_id)
    assert proposal.status == "pending"
    assert proposal.provider_id == doctor.provider_id
    assert proposal.generation_status in ("completed", "incomplete")
    assert proposal.num_ctx and proposal.prompt_tokens < proposal.num_ctx
