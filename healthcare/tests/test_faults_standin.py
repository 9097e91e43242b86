"""The stand-in Ollama server itself: each fault mode looks on the wire as the tests claim.

These talk to it with plain `requests`, so the fault tests of the application can trust it.
"""

from __future__ import annotations

import json

import pytest
import requests

from .ollama_standin import (
    FAULT_MODES,
    MID_STREAM_ERROR,
    SERVER_BUSY,
    OllamaStandIn,
    ollama_standin_fixture,  # noqa: F401 - provides ollama_standin
)

TIMEOUT = (0.5, 1.0)


@pytest.fixture
def server():
    with OllamaStandIn(slow_delay=1.6) as s:
        yield s


def _generate(server, stream: bool, **extra):
    body = {"model": "llama3.2", "prompt": "hello", "stream": stream, **extra}
    return requests.post(f"{server.url}/api/generate", json=body, timeout=TIMEOUT, stream=stream)


def _lines(response) -> list[dict]:
    return [json.loads(line) for line in response.iter_lines() if line]


def test_every_mode_is_documented():
    assert set(FAULT_MODES) >= {
        "ok",
        "refused",
        "hang",
        "slow",
        "not_found",
        "server_error",
        "busy",
        "invalid_json",
        "error_mid_stream",
        "cut_mid_stream",
        "empty",
        "empty_text",
        "too_long",
    }


def test_metadata_endpoints(server):
    assert requests.get(f"{server.url}/api/version", timeout=TIMEOUT).json()["version"]
    tags = requests.get(f"{server.url}/api/tags", timeout=TIMEOUT).json()
    (model,) = tags["models"]
    assert model["name"] == "llama3.2:latest"
    assert len(model["digest"]) == 64
    show = requests.post(f"{server.url}/api/show", json={"model": "llama3.2"}, timeout=TIMEOUT)
    assert show.status_code == 200
    assert "parameters" in show.json()
    missing = requests.post(f"{server.url}/api/show", json={"model": "nope"}, timeout=TIMEOUT)
    assert missing.status_code == 404


def test_ok_non_streaming(server):
    reply = _generate(server, stream=False).json()
    assert reply["done"] is True
    assert reply["done_reason"] == "stop"
    assert "CLINICAL ASSESSMENT" in reply["response"]
    assert reply["eval_count"] > 0
    assert reply["prompt_eval_count"] > 0
    assert server.generation_requests()[0].body["prompt"] == "hello"


def test_ok_streaming_is_ndjson_ending_with_done(server):
    lines = _lines(_generate(server, stream=True))
    assert len(lines) > 3
    assert all(not line["done"] for line in lines[:-1])
    assert lines[-1]["done"] is True
    text = "".join(line["response"] for line in lines)
    assert text.startswith("CLINICAL ASSESSMENT:")


def test_chat_streaming_and_not(server):
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    whole = requests.post(
        f"{server.url}/api/chat", json={**body, "stream": False}, timeout=TIMEOUT
    ).json()
    assert whole["message"]["role"] == "assistant"
    streamed = requests.post(f"{server.url}/api/chat", json=body, timeout=TIMEOUT, stream=True)
    text = "".join(line["message"]["content"] for line in _lines(streamed))
    assert text == whole["message"]["content"]


def test_a_json_schema_format_gets_matching_json(server):
    schema = {
        "type": "object",
        "properties": {
            "clinical_assessment": {"type": "string"},
            "medications": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["clinical_assessment", "medications"],
    }
    reply = _generate(server, stream=False, format=schema).json()
    data = json.loads(reply["response"])
    assert isinstance(data["clinical_assessment"], str)
    assert isinstance(data["medications"], list)


def test_unknown_model_is_404(server):
    response = requests.post(
        f"{server.url}/api/generate",
        json={"model": "mistral", "prompt": "x", "stream": False},
        timeout=TIMEOUT,
    )
    assert response.status_code == 404
    assert "not found" in response.json()["error"]


def test_refused_then_back_on_the_same_url(server):
    url = server.url
    server.mode = "refused"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/version", timeout=TIMEOUT)
    server.mode = "ok"
    assert server.url == url
    assert requests.get(f"{url}/api/version", timeout=TIMEOUT).status_code == 200


def test_refused_from_the_start():
    with OllamaStandIn(mode="refused") as s:
        assert s.port
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{s.url}/api/version", timeout=TIMEOUT)


@pytest.mark.parametrize("mode", ["hang", "slow"])
def test_hang_and_slow_hit_the_read_timeout(server, mode):
    server.mode = mode
    with pytest.raises(requests.ReadTimeout):
        _generate(server, stream=False)


def test_slow_answers_when_the_client_waits_long_enough(server):
    server.set_mode("slow", slow_delay=0.3)
    assert _generate(server, stream=False).json()["done"] is True


def test_delay_holds_every_answer(server):
    server.set_mode("ok", delay=0.3)
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{server.url}/api/version", timeout=(0.5, 0.1))


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("not_found", 404, "model 'llama3.2' not found"),
        ("server_error", 500, "terminated"),
        ("busy", 503, SERVER_BUSY),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_error_statuses(server, mode, status, error, stream):
    server.mode = mode
    response = _generate(server, stream=stream)
    assert response.status_code == status
    assert error in response.json()["error"]
    # The metadata endpoints stay healthy (except not_found's empty model list).
    tags = requests.get(f"{server.url}/api/tags", timeout=TIMEOUT).json()
    assert tags["models"] == ([] if mode == "not_found" else tags["models"])


def test_fault_scope_all_breaks_tags_too(server):
    server.set_mode("busy", fault_scope="all")
    assert requests.get(f"{server.url}/api/tags", timeout=TIMEOUT).status_code == 503


def test_invalid_json(server):
    server.mode = "invalid_json"
    with pytest.raises(ValueError):
        _generate(server, stream=False).json()
    with pytest.raises(ValueError):
        _lines(_generate(server, stream=True))


def test_error_line_mid_stream(server):
    server.mode = "error_mid_stream"
    lines = _lines(_generate(server, stream=True))
    assert lines[0]["response"]
    assert lines[-1] == {"error": MID_STREAM_ERROR}
    assert not any(line.get("done") for line in lines)
    assert _generate(server, stream=False).status_code == 500


def test_connection_cut_mid_stream(server):
    server.mode = "cut_mid_stream"
    response = _generate(server, stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _lines(response)
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        _generate(server, stream=False)


def test_empty_body(server):
    server.mode = "empty"
    response = _generate(server, stream=False)
    assert response.status_code == 200
    assert response.content == b""
    assert _lines(_generate(server, stream=True)) == []


def test_empty_text(server):
    server.mode = "empty_text"
    reply = _generate(server, stream=False).json()
    assert reply["done"] is True
    assert reply["response"] == ""


def test_too_long_is_cut_with_done_reason_length(server):
    server.mode = "too_long"
    reply = _generate(server, stream=False, options={"num_predict": 50}).json()
    assert reply["done_reason"] == "length"
    assert reply["eval_count"] == 50
    assert len(reply["response"].split()) > 4 * 50
    lines = _lines(_generate(server, stream=True, options={"num_predict": 50}))
    assert lines[-1]["done_reason"] == "length"


def test_a_reply_can_be_set(server):
    server.set_mode("ok", reply="just this")
    assert _generate(server, stream=False).json()["response"] == "just this"
    server.set_mode("ok", reply=lambda body: body["prompt"].upper())
    assert _generate(server, stream=False).json()["response"] == "HELLO"


def test_unknown_mode_is_refused(server):
    with pytest.raises(ValueError):
        server.mode = "sideways"


def test_the_fixture_points_settings_at_it(ollama_standin, settings):
    assert ollama_standin.url == settings.OLLAMA_API_URL
    assert settings.OLLAMA_TIMEOUT <= 1.0
    assert settings.OLLAMA_CONNECT_TIMEOUT <= 0.5
    assert ollama_standin.slow_delay > settings.OLLAMA_TIMEOUT


def test_stop_releases_a_hanging_request():
    import threading

    outcome = {}
    s = OllamaStandIn(mode="hang").start()

    def call():
        try:
            requests.get(f"{s.url}/api/version", timeout=(0.5, 10))
        except requests.RequestException as exc:
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=call)
    thread.start()
    while not s.requests:
        thread.join(0.01)
    s.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert outcome["error"] in {"ConnectionError", "ChunkedEncodingError"}
