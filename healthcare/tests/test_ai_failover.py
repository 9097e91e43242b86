"""Several Ollama servers: spread over the healthy ones, fail over, cool off a failing one."""

from __future__ import annotations

import pytest
import requests

from healthcare.ai_treatment_generator import (
    SERVER_HEALTH,
    OllamaAPIClient,
    OllamaBusyError,
    OllamaModelNotFoundError,
    OllamaTimeoutError,
    OllamaUnavailableError,
    TreatmentPlanGenerator,
)

from .ai_fakes import (
    URL,
    URL_B,
    add_success,
    generate_reply,
    make_record,
)

pytestmark = pytest.mark.unused_replies_ok

GEN_A = f"{URL}/api/generate"
GEN_B = f"{URL_B}/api/generate"


@pytest.fixture
def client(settings):
    settings.OLLAMA_API_URL = f"{URL},{URL_B}"
    settings.OLLAMA_SERVER_COOLOFF = 30
    return OllamaAPIClient()


def hits(rsps, url: str) -> int:
    return sum(1 for c in rsps.calls if c.request.url.startswith(url))


def refuse(rsps, url):
    rsps.add(rsps.POST, url, body=requests.exceptions.ConnectionError("Connection refused"))


def test_generations_are_spread_over_healthy_servers(client, rsps):
    rsps.add(rsps.POST, GEN_A, json=generate_reply("a"))
    rsps.add(rsps.POST, GEN_B, json=generate_reply("b"))

    servers = [client.generate("x")["server"] for _ in range(4)]

    assert servers == [URL, URL_B, URL, URL_B]


def test_fails_over_when_a_server_refuses_and_marks_it_down(client, rsps):
    refuse(rsps, GEN_A)
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))

    first = client.generate("x")
    second = client.generate("x")

    assert first["response"] == "from b"
    assert first["server"] == second["server"] == URL_B
    assert hits(rsps, URL) == 1  # cooling off: not asked again
    assert SERVER_HEALTH.is_down(URL)


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "json": {"error": "server busy"}},
        {"body": requests.exceptions.ConnectTimeout("connect timed out")},
    ],
    ids=["busy-503", "connect-timeout"],
)
def test_fails_over_on_busy_and_connect_timeout(client, rsps, failure):
    rsps.add(rsps.POST, GEN_A, **failure)
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))
    assert client.generate("x")["server"] == URL_B
    assert SERVER_HEALTH.is_down(URL)


def test_read_timeout_is_not_retried_elsewhere(client, rsps):
    # The server accepted the work and may still be generating: do not double the load.
    rsps.add(rsps.POST, GEN_A, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))
    with pytest.raises(OllamaTimeoutError):
        client.generate("x")
    assert hits(rsps, URL_B) == 0


def test_model_missing_on_one_server_uses_the_other(client, rsps):
    rsps.add(rsps.POST, GEN_A, status=404, json={"error": "model 'llama3.2' not found"})
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))
    assert client.generate("x")["server"] == URL_B
    assert not SERVER_HEALTH.is_down(URL)  # healthy, just without the model


def test_all_servers_down_names_each(client, rsps):
    refuse(rsps, GEN_A)
    rsps.add(rsps.POST, GEN_B, status=503, json={"error": "server busy"})
    with pytest.raises(OllamaBusyError) as info:
        client.generate("x")
    assert URL in info.value.user_message
    assert URL_B in info.value.user_message


def test_all_servers_refusing(client, rsps):
    refuse(rsps, GEN_A)
    refuse(rsps, GEN_B)
    with pytest.raises(OllamaUnavailableError, match="None of the 2 AI servers"):
        client.generate("x")


def test_model_missing_everywhere_gives_the_pull_hint(client, rsps):
    refuse(rsps, GEN_A)
    rsps.add(rsps.POST, GEN_B, status=404, json={"error": "model 'llama3.2' not found"})
    with pytest.raises(OllamaModelNotFoundError, match=r"ollama pull llama3\.2"):
        client.generate("x")


def test_a_server_is_tried_again_after_its_cooloff(client, rsps, settings):
    settings.OLLAMA_SERVER_COOLOFF = 0
    refuse(rsps, GEN_A)
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))
    client.generate("x")
    client.generate("x")
    assert hits(rsps, URL) == 2


def test_servers_cooling_off_are_still_tried_as_a_last_resort(settings, rsps):
    settings.OLLAMA_API_URL = URL
    client = OllamaAPIClient()
    SERVER_HEALTH.mark_down(URL, 60)
    rsps.add(rsps.POST, GEN_A, json=generate_reply("ok"))
    assert client.generate("x")["response"] == "ok"
    assert not SERVER_HEALTH.is_down(URL)


def test_health_is_shared_between_clients(client, rsps, settings):
    refuse(rsps, GEN_A)
    rsps.add(rsps.POST, GEN_B, json=generate_reply("from b"))
    client.generate("x")
    other = OllamaAPIClient()
    assert other.generate("x")["server"] == URL_B
    assert hits(rsps, URL) == 1


def test_generator_fails_over_and_records_the_server_used(client, rsps, patient, settings):
    make_record(patient)
    refuse(rsps, GEN_A)
    add_success(rsps, url=URL_B)

    proposal = TreatmentPlanGenerator(client=client).generate_treatment_plan(patient)

    assert proposal.generation_status == "completed"
    assert proposal.ollama_server == URL_B
