"""Review fixes in the AI core and the background generation (each test failed before its fix).

- a bare `generate()`/`chat()` (the specification's examples) always sends `num_ctx`, sized for
  the prompt, and reports a prompt that filled the window;
- two workers handed the same job: exactly one runs it;
- the heartbeat thread survives a database blip;
- a chart with hundreds of current medications still gets a prompt (medications capped, with
  a note to the model and a flag for the doctor; allergies never dropped), and a section emptied
  by shortening is not shown to the model as "none";
- the patient's own name, MRN or contact details typed into free text are redacted.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcare.ai.prompt import MIN_MEDICATIONS_KEPT, estimate_tokens
from healthcare.ai_treatment_generator import (
    OllamaAPIClient,
    TreatmentPlanGenerator,
)
from healthcare.models import AIProposedTreatmentPlan
from healthcare.services import generation as service

from . import factories as f
from .ai_fakes import URL, chat_reply, generate_reply, make_record
from .generation_fakes import install_fake_generator

GS = AIProposedTreatmentPlan.GenerationStatus
GEN = f"{URL}/api/generate"
CHAT = f"{URL}/api/chat"


@pytest.fixture
def client(settings):
    settings.OLLAMA_API_URL = URL
    settings.OLLAMA_NUM_PREDICT = 256
    settings.OLLAMA_MAX_NUM_CTX = 8192
    return OllamaAPIClient(model="llama3.2")


# --- num_ctx on every call ------------------------------------------------------------------
def test_a_bare_generate_sends_a_num_ctx_that_holds_the_prompt(client, rsps):
    prompt = "BP 162/98 mmHg; HR 72/min; SpO2 98%; Glucose 95.0 mg/dL\n" * 80
    rsps.add(rsps.POST, GEN, json=generate_reply("ok"))

    result = client.generate(prompt)

    sent = json.loads(rsps.calls[0].request.body)["options"]
    assert sent["num_ctx"] >= estimate_tokens(prompt) + sent["num_predict"]
    assert sent["num_ctx"] & (sent["num_ctx"] - 1) == 0  # coarse steps: fewer model reloads
    assert result["num_ctx"] == sent["num_ctx"]
    assert result["prompt_truncated"] is False


def test_a_short_prompt_gets_the_smallest_window_and_an_explicit_one_is_kept(client, rsps):
    rsps.add(rsps.POST, GEN, json=generate_reply("ok"))
    rsps.add(rsps.POST, GEN, json=generate_reply("ok"))

    client.generate("Say hello")
    client.generate("Say hello", options={"num_ctx": 4096})

    assert json.loads(rsps.calls[0].request.body)["options"]["num_ctx"] == 2048
    assert json.loads(rsps.calls[1].request.body)["options"]["num_ctx"] == 4096


def test_chat_sends_num_ctx_sized_for_all_messages(client, rsps):
    rsps.add(rsps.POST, CHAT, json=chat_reply("ok"))
    messages = [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "Glucose 95.0 mg/dL; HbA1c 7.9 %\n" * 150},
    ]

    result = client.chat(messages)

    sent = json.loads(rsps.calls[0].request.body)["options"]
    assert sent["num_ctx"] >= estimate_tokens(messages[1]["content"]) + sent["num_predict"]
    assert result["message"]["content"] == "ok"


def test_a_prompt_that_filled_the_window_is_reported(client, rsps, caplog):
    rsps.add(rsps.POST, GEN, json=generate_reply("ok", prompt_tokens=2048))

    result = client.generate("Say hello")

    assert result["num_ctx"] == 2048
    assert result["prompt_truncated"] is True
    assert "filled the context window" in caplog.text
    assert "Say hello" not in caplog.text


# --- Two workers, one job -------------------------------------------------------------------
def test_two_workers_handed_the_same_job_run_it_once(monkeypatch, doctor, patient):
    fake = install_fake_generator(monkeypatch)
    proposal = f.AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        generation_status=GS.QUEUED,
        proposed_treatment="",
        raw_response="",
        completed_at=None,
    )
    second_worker: list[dict] = []
    original = fake.generate_treatment_plan

    def generate(self, patient, provider=None, **kwargs):
        if not second_worker:  # the other worker takes the same job while this one starts
            second_worker.append(service.run_generation(proposal.pk))
        return original(self, patient, provider, **kwargs)

    monkeypatch.setattr(fake, "generate_treatment_plan", generate)

    outcome = service.run_generation(proposal.pk)

    assert outcome["generation_status"] == GS.COMPLETED
    assert second_worker[0]["skipped"] is True
    assert len(fake.calls) == 1


# --- Heartbeat ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_beating_after_a_database_error(monkeypatch, doctor, patient):
    proposal = f.AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status=GS.RUNNING, completed_at=None
    )
    real_now = timezone.now
    calls = {"n": 0}
    lock = threading.Lock()

    class FlakyClock:
        @staticmethod
        def now():
            with lock:
                calls["n"] += 1
                first = calls["n"] == 1
            if first:
                raise RuntimeError("database went away")
            return real_now()

    monkeypatch.setattr(service, "timezone", FlakyClock)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        heartbeat_at=real_now() - timedelta(hours=1)
    )
    beat = service.Heartbeat(proposal.pk, 0.05)
    beat.start()
    try:
        assert beat.beaten.wait(timeout=10)
    finally:
        beat.stop()
    proposal.refresh_from_db()
    assert proposal.heartbeat_at > real_now() - timedelta(minutes=1)


# --- A very long chart ----------------------------------------------------------------------
def test_hundreds_of_medications_fit_with_a_note_and_allergies_stay(settings, patient):
    settings.OLLAMA_NUM_PREDICT = 1024
    settings.OLLAMA_MAX_NUM_CTX = 8192
    make_record(patient)
    f.AllergyFactory(patient=patient, allergen="Sulfonamides", reaction="Rash")
    f.AllergyFactory(patient=patient, allergen="Aspirin", reaction="Bronchospasm")
    today = timezone.localdate()
    f.PrescriptionFactory.create_batch(
        400, patient=patient, medication_name="Amlodipine", start_date=today - timedelta(days=400)
    )
    f.PrescriptionFactory(patient=patient, medication_name="Newdrug", start_date=today)
    generator = TreatmentPlanGenerator(model="llama3.2")
    data = generator.gather_patient_data(patient)

    build = generator.prepare_prompt(data)

    assert build.estimated_tokens + build.num_predict + 64 <= 8192
    assert build.data["allergies"] == data["allergies"]
    assert len(build.data["allergies"]) == 3
    meds = build.data["current_medications"]
    assert MIN_MEDICATIONS_KEPT <= len(meds) < 402
    # The newest stay (both started today), the long-running ones go.
    assert [m["medication_name"] for m in meds[:2]] == ["Lisinopril", "Newdrug"]
    left_out = 402 - len(meds)
    assert f"({left_out} more current medications not shown" in build.prompt
    assert "INCOMPLETE" in build.prompt
    (flag,) = [fl for fl in build.flags if fl["code"] == "medications_left_out"]
    assert flag["count"] == left_out
    # Sections emptied to make room are not presented to the model as empty.
    assert build.dropped.get("lab_tests")
    assert "Lab results (most recent first): none" not in build.prompt
    assert f"- ({build.dropped['lab_tests']} older entries not shown)" in build.prompt


# --- The patient's own identifiers in free text ---------------------------------------------
def test_the_patients_name_and_mrn_in_free_text_are_redacted(patient):
    patient.first_name, patient.last_name, patient.mrn = "Maria", "Lopez-Reyes", "MRN-4711"
    patient.phone, patient.email = "+1 555 0100", "maria@example.org"
    patient.save()
    make_record(
        patient,
        social_notes="maria called (MRN-4711, +1 555 0100, maria@example.org); "
        "Mrs Lopez-Reyes plays in a mariachi band; Mr Reyes drove her.",
    )
    f.PrescriptionFactory(patient=patient, instructions="Remind Maria to take it with food")
    generator = TreatmentPlanGenerator(model="llama3.2")

    data = generator.gather_patient_data(patient)
    build = generator.prepare_prompt(data)

    notes = data["social_history"]["notes"]
    assert notes == (
        "[redacted] called ([redacted], [redacted], [redacted]); "
        "Mrs [redacted] plays in a mariachi band; Mr [redacted] drove her."
    )
    for text in (build.prompt, json.dumps(build.snapshot())):
        for identifier in ("Maria", "maria called", "Lopez", "Reyes", "4711", "0100", "example"):
            assert identifier not in text
    assert "mariachi" in build.prompt  # whole words only
    assert "Lisinopril" in build.prompt
    (flag,) = [fl for fl in build.flags if fl["code"] == "identifiers_redacted"]
    assert flag["fields"] == ["current_medications.instructions", "social_history.notes"]
