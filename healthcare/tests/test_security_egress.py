"""What leaves the machine: nothing but the calls to the configured Ollama servers.

Every outgoing socket connection made by Python code is recorded while a doctor generates a
proposal (the worker's task runs inline), the pages of every role are rendered and a password
reset is asked for; the only destination is the Ollama server of the settings. The pages load
nothing from another origin either.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from healthcare.models import AIProposedTreatmentPlan
from healthcare.services.generation import run_generation

from . import factories as f
from .hardening import iter_url_patterns, make_ready_patient, run_worker_task_inline
from .ollama_standin import ollama_standin_fixture  # noqa: F401 - provides ollama_standin

pytestmark = pytest.mark.django_db

EXTERNAL_REF = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture
def connections_made(monkeypatch):
    made: list[tuple] = []
    original = socket.socket.connect

    def connect(self, address):
        made.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return made


def test_only_the_ollama_server_is_contacted(
    ollama_standin,
    connections_made,
    monkeypatch,
    client,
    doctor_user,
    doctor,
    django_capture_on_commit_callbacks,
):
    run_worker_task_inline(monkeypatch)
    patient = make_ready_patient(doctor)
    profile = f.PatientProfileFactory(patient=patient)
    client.force_login(doctor_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("doctor_generate_ai_proposal", args=[patient.pk]))
    proposal = AIProposedTreatmentPlan.objects.get(patient=patient)
    assert run_generation(proposal.pk)["generation_status"] == "completed"
    plan = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    plan.publish_to_patient(by=doctor_user)
    ids = {"patient_id": patient.pk, "proposal_id": proposal.pk, "plan_id": plan.pk}
    for user in (doctor_user, profile.user):
        client.force_login(user)
        for name, route in iter_url_patterns():
            if name.startswith("admin:") or name == "password_reset_confirm":
                continue
            keys = re.findall(r"<(?:\w+:)?(\w+)>", route)
            client.get(reverse(name, kwargs={k: ids[k] for k in keys}))
    client.logout()
    client.post(reverse("password_reset"), {"email": patient.user.email})

    ollama = urlsplit(ollama_standin.url)
    destinations = {(host, port) for host, port, *_ in connections_made}
    assert destinations, "no connection recorded: the probe is not attached"
    assert destinations == {(ollama.hostname, ollama.port)}


def test_pages_load_nothing_from_another_origin(doctor_client, patient):
    for name in ("login", "doctor_dashboard", "doctor_patients_list", "doctor_ai_proposals"):
        html = doctor_client.get(reverse(name)).content.decode()
        assert not EXTERNAL_REF.search(html), name
    assert not EXTERNAL_REF.search(doctor_client.get(reverse("admin:index")).content.decode())
