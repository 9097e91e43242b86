"""OllamaAPIClient against every reply shape of the Ollama API (through `responses`)."""

from __future__ import annotations

import json

import pytest
import requests
from urllib3.exceptions import ReadTimeoutError

from healthcare.ai_treatment_generator import (
    GenerationError,
    OllamaAPIClient,
    OllamaBusyError,
    OllamaError,
    OllamaModelNotFoundError,
    OllamaResponseError,
    OllamaServerError,
    OllamaTimeoutError,
    OllamaUnavailableError,
    parse_server_list,
)

from .ai_fakes import (
    DIGEST,
    URL,
    add_tags,
    add_version,
    chat_reply,
    generate_reply,
    ndjson,
    stream_body,
)

GEN = f"{URL}/api/generate"
CHAT = f"{URL}/api/chat"


@pytest.fixture
def client(settings):
    settings.OLLAMA_API_URL = URL
    settings.OLLAMA_TIMEOUT = 120
    settings.OLLAMA_CONNECT_TIMEOUT = 3
    settings.OLLAMA_TEMPERATURE = 0.2
    settings.OLLAMA_TOP_P = 0.9
    settings.OLLAMA_TOP_K = 40
    settings.OLLAMA_NUM_PREDICT = 256
    return OllamaAPIClient(model="llama3.2")


# --- Success --------------------------------------------------------------------------------
def test_generate_non_streaming_returns_text_and_metrics(client, rsps):
    rsps.add(rsps.POST, GEN, json=generate_reply("Hello World"))

    result = client.generate(
        prompt="Say hello", options={"temperature": 0.7, "top_p": 0.9, "top_k": 40}
    )

    assert result["response"] == "Hello World"
    assert result["prompt_tokens"] == 900
    assert result["completion_tokens"] == 120
    assert isinstance(result["generation_time"], float)
    assert result["done_reason"] == "stop"
    assert result["total_duration"] == 5_000_000_000
    assert result["load_duration"] == 1_000_000_000
    assert result["prompt_eval_duration"] == 2_000_000_000
    assert result["eval_duration"] == 2_000_000_000
    assert result["model"] == "llama3.2"
    assert result["server"] == URL
    sent = json.loads(rsps.calls[0].request.body)
    assert sent == {
        "model": "llama3.2",
        "prompt": "Say hello",
        "stream": False,
        "options": {
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "num_predict": 256,
            "num_ctx": 2048,
        },
    }


def test_options_default_from_settings(client, rsps, settings):
    settings.OLLAMA_TEMPERATURE = 0.1
    settings.OLLAMA_EXTRA_OPTIONS = {"seed": 3}
    rsps.add(rsps.POST, GEN, json=generate_reply("ok"))
    client.generate("x", options={"top_k": 5})
    assert json.loads(rsps.calls[0].request.body)["options"] == {
        "temperature": 0.1,
        "top_p": 0.9,
        "top_k": 5,
        "num_predict": 256,
        "seed": 3,
        "num_ctx": 2048,
    }


def test_separate_connect_and_read_timeouts_from_settings(client, rsps):
    rsps.add(rsps.POST, GEN, json=generate_reply("ok"))
    client.generate("x")
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3.0, 120.0)


def test_generate_sends_system_format_and_keep_alive(client, rsps):
    rsps.add(rsps.POST, GEN, json=generate_reply("{}"))
    schema = {"type": "object"}
    client.generate("p", system="be careful", format=schema, keep_alive="30m")
    sent = json.loads(rsps.calls[0].request.body)
    assert sent["system"] == "be careful"
    assert sent["format"] == schema
    assert sent["keep_alive"] == "30m"


def test_generate_streaming_joins_chunks_and_reports_progress(client, rsps):
    rsps.add(rsps.POST, GEN, body=stream_body(["Hel", "lo ", "World"]))
    seen = []

    result = client.generate("Say hello", stream=True, on_chunk=seen.append)

    assert result["response"] == "Hello World"
    assert seen == ["Hel", "Hello ", "Hello World"]
    assert result["completion_tokens"] == 120
    assert json.loads(rsps.calls[0].request.body)["stream"] is True


def test_chat_non_streaming(client, rsps):
    rsps.add(rsps.POST, CHAT, json=chat_reply("Hi there"))
    messages = [{"role": "user", "content": "Hello"}]

    result = client.chat(messages)

    assert result["response"] == "Hi there"
    assert result["message"] == {"role": "assistant", "content": "Hi there"}
    assert result["prompt_tokens"] == 900
    assert json.loads(rsps.calls[0].request.body)["messages"] == messages


def test_chat_streaming(client, rsps):
    rsps.add(rsps.POST, CHAT, body=stream_body(["Hi", " there"], chat=True))
    seen = []
    result = client.chat([{"role": "user", "content": "Hello"}], stream=True, on_chunk=seen.append)
    assert result["response"] == "Hi there"
    assert seen == ["Hi", "Hi there"]


def test_done_reason_length_is_reported(client, rsps):
    rsps.add(rsps.POST, GEN, body=stream_body(["cut"], done_reason="length"))
    assert client.generate("x", stream=True)["done_reason"] == "length"


# --- Errors ---------------------------------------------------------------------------------
def test_model_not_found_404_says_how_to_pull(client, rsps):
    rsps.add(rsps.POST, GEN, status=404, json={"error": "model 'llama3.2' not found"})
    with pytest.raises(OllamaModelNotFoundError) as info:
        client.generate("x")
    assert "ollama pull llama3.2" in info.value.user_message
    assert URL in info.value.user_message
    assert info.value.error_type == "model_not_found"


def test_server_error_500(client, rsps):
    rsps.add(rsps.POST, GEN, status=500, json={"error": "llama runner process has terminated"})
    with pytest.raises(OllamaServerError) as info:
        client.generate("x")
    assert "HTTP 500" in info.value.user_message
    assert "runner process" in info.value.user_message


def test_bad_request_400(client, rsps):
    rsps.add(rsps.POST, GEN, status=400, json={"error": "invalid options"})
    with pytest.raises(OllamaServerError, match="HTTP 400"):
        client.generate("x")


def test_busy_503(client, rsps):
    rsps.add(rsps.POST, GEN, status=503, json={"error": "server busy, please try again"})
    with pytest.raises(OllamaBusyError) as info:
        client.generate("x")
    assert "busy" in info.value.user_message
    assert info.value.error_type == "ollama_busy"


def test_connect_timeout(client, rsps):
    rsps.add(rsps.POST, GEN, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(OllamaTimeoutError) as info:
        client.generate("x")
    assert info.value.phase == "connect"
    assert "did not accept the connection" in info.value.user_message


def test_read_timeout(client, rsps):
    rsps.add(rsps.POST, GEN, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OllamaTimeoutError) as info:
        client.generate("x")
    assert info.value.phase == "read"
    assert "OLLAMA_TIMEOUT" in info.value.user_message


def test_read_timeout_wrapped_as_connection_error_is_a_timeout(client, rsps):
    wrapped = requests.exceptions.ConnectionError(ReadTimeoutError(None, GEN, "Read timed out."))
    rsps.add(rsps.POST, GEN, body=wrapped)
    with pytest.raises(OllamaTimeoutError):
        client.generate("x")


def test_timeouts_are_caught_as_the_specification_catches_them(client, rsps):
    # Spec, Best Practices / Error Handling: `except requests.exceptions.Timeout:`
    rsps.add(rsps.POST, GEN, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(requests.exceptions.Timeout):
        client.generate("x")


def test_connection_refused(client, rsps):
    rsps.add(rsps.POST, GEN, body=requests.exceptions.ConnectionError("Connection refused"))
    with pytest.raises(OllamaUnavailableError) as info:
        client.generate("x")
    assert "ollama serve" in info.value.user_message
    assert info.value.error_type == "ollama_unavailable"
    assert isinstance(info.value, requests.exceptions.ConnectionError)


def test_malformed_json_reply(client, rsps):
    rsps.add(rsps.POST, GEN, body="<html>proxy error</html>", status=200)
    with pytest.raises(OllamaResponseError, match="not valid JSON"):
        client.generate("x")


def test_malformed_line_in_stream(client, rsps):
    body = ndjson([{"response": "ok", "done": False}]) + "{not json\n"
    rsps.add(rsps.POST, GEN, body=body)
    with pytest.raises(OllamaResponseError, match="malformed line"):
        client.generate("x", stream=True)


def test_error_line_in_the_middle_of_a_stream(client, rsps):
    body = ndjson(
        [
            {"response": "Start of ", "done": False},
            {"error": "an error was encountered while running the model"},
            {"response": "never read", "done": False},
        ]
    )
    rsps.add(rsps.POST, GEN, body=body, status=200)
    seen = []
    with pytest.raises(OllamaServerError, match="stopped with an error") as info:
        client.generate("x", stream=True, on_chunk=seen.append)
    assert seen == ["Start of "]
    assert info.value.error_type == "ollama_server_error"


def test_model_not_found_as_a_stream_line(client, rsps):
    rsps.add(rsps.POST, GEN, body=ndjson([{"error": "model 'llama3.2' not found"}]))
    with pytest.raises(OllamaModelNotFoundError):
        client.generate("x", stream=True)


def test_stream_cut_before_done(client, rsps):
    rsps.add(rsps.POST, GEN, body=ndjson([{"response": "half", "done": False}]))
    with pytest.raises(OllamaResponseError, match="stream cut"):
        client.generate("x", stream=True)


def test_reply_without_text(client, rsps):
    rsps.add(rsps.POST, GEN, json={"done": True})
    with pytest.raises(OllamaResponseError, match="without any text"):
        client.generate("x")


def test_error_field_with_http_200(client, rsps):
    rsps.add(rsps.POST, GEN, json={"error": "something broke"})
    with pytest.raises(OllamaServerError, match="something broke"):
        client.generate("x")


@pytest.mark.parametrize(
    "cls",
    [
        OllamaUnavailableError,
        OllamaTimeoutError,
        OllamaBusyError,
        OllamaServerError,
        OllamaResponseError,
    ],
)
def test_every_error_is_a_generation_error_with_message_and_code(cls):
    exc = cls()
    assert isinstance(exc, OllamaError)
    assert isinstance(exc, GenerationError)
    assert exc.user_message
    assert exc.error_type


# --- Metadata ---------------------------------------------------------------------------------
def test_list_models_version_and_show(client, rsps):
    add_tags(rsps)
    add_version(rsps, version="0.5.4")
    rsps.add(rsps.POST, f"{URL}/api/show", json={"parameters": "stop x", "details": {}})

    assert client.list_models()[0]["digest"] == DIGEST
    assert client.version() == "0.5.4"
    assert client.show()["parameters"] == "stop x"
    assert json.loads(rsps.calls[2].request.body) == {"model": "llama3.2"}


def test_show_unknown_model(client, rsps):
    rsps.add(rsps.POST, f"{URL}/api/show", status=404, json={"error": "model 'x' not found"})
    with pytest.raises(OllamaModelNotFoundError, match="ollama pull x"):
        client.show("x")


def test_model_digest_is_cached_per_client(client, rsps):
    add_tags(rsps)
    assert client.model_digest() == DIGEST
    assert client.model_digest() == DIGEST
    assert len(rsps.calls) == 1


def test_model_digest_matches_tag_latest(client, rsps):
    add_tags(rsps, model="llama3.2:latest")
    assert client.model_digest("llama3.2") == DIGEST


def test_check_ready_reports_model_present(client, rsps):
    add_version(rsps)
    add_tags(rsps)
    report = client.check_ready()
    assert report.ready
    (server,) = report.servers
    assert server.reachable and server.model_present
    assert server.digest == DIGEST
    assert server.version == "0.5.4"


def test_check_ready_reports_missing_model(client, rsps):
    add_version(rsps)
    add_tags(rsps, model="mistral:latest")
    report = client.check_ready()
    assert not report.ready
    assert report.servers[0].reachable
    assert "ollama pull llama3.2" in report.servers[0].error


def test_check_ready_reports_unreachable_server(client, rsps):
    rsps.add(rsps.GET, f"{URL}/api/version", body=requests.exceptions.ConnectionError("refused"))
    report = client.check_ready()
    assert not report.ready
    assert not report.servers[0].reachable
    assert "cannot be reached" in report.servers[0].error


def test_tags_on_something_that_is_not_ollama(client, rsps):
    rsps.add(rsps.GET, f"{URL}/api/tags", status=404, body="Not Found")
    with pytest.raises(OllamaServerError, match="Ollama server"):
        client.list_models()


# --- Configuration ----------------------------------------------------------------------------
def test_server_list_parsing():
    assert parse_server_list(" http://a:1/ , http://b:2,,http://a:1") == [
        "http://a:1",
        "http://b:2",
    ]
    assert parse_server_list("") == ["http://localhost:11434"]


def test_defaults_come_from_settings(settings):
    settings.OLLAMA_API_URL = "http://x:1,http://y:2"
    settings.OLLAMA_MODEL = "llama3.2"
    client = OllamaAPIClient()
    assert client.servers == ["http://x:1", "http://y:2"]
    assert client.base_url == "http://x:1"
    assert client.model == "llama3.2"
    assert isinstance(client.session, requests.Session)
