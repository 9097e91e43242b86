"""`manage.py check_ollama`: per-server report, exit code, actionable messages."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from .ai_fakes import DIGEST, URL, URL_B, add_tags, add_version, generate_reply


@pytest.fixture(autouse=True)
def _servers(settings):
    settings.OLLAMA_API_URL = URL
    settings.OLLAMA_MODEL = "llama3.2"


def run(*args) -> str:
    out = StringIO()
    call_command("check_ollama", *args, stdout=out)
    return out.getvalue()


def test_ready_server_is_reported_with_version_and_digest(rsps):
    add_version(rsps, version="0.5.4")
    add_tags(rsps)
    out = run()
    assert URL in out
    assert "version 0.5.4" in out
    assert f"present, digest {DIGEST}" in out
    assert "1 of 1 server(s) ready" in out


def test_generate_times_a_tiny_generation(rsps):
    add_version(rsps)
    add_tags(rsps)
    rsps.add(rsps.POST, f"{URL}/api/generate", json=generate_reply("OK", completion_tokens=2))
    out = run("--generate")
    assert "test generation:" in out
    assert "+ 2 completion tokens" in out


def test_missing_model_fails_with_the_pull_hint(rsps):
    add_version(rsps)
    add_tags(rsps, model="mistral:latest")
    with pytest.raises(CommandError) as info:
        run()
    assert f"model 'llama3.2' not found on {URL}: run `ollama pull llama3.2`" in str(info.value)


def test_unreachable_server_fails(rsps):
    rsps.add(rsps.GET, f"{URL}/api/version", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(CommandError, match="cannot be reached"):
        run()


def test_failed_test_generation_fails(rsps):
    add_version(rsps)
    add_tags(rsps)
    rsps.add(rsps.POST, f"{URL}/api/generate", status=500, json={"error": "runner crashed"})
    with pytest.raises(CommandError):
        run("--generate")


def test_each_of_several_servers_is_reported(rsps, settings):
    settings.OLLAMA_API_URL = f"{URL},{URL_B}"
    add_version(rsps)
    add_tags(rsps)
    rsps.add(rsps.GET, f"{URL_B}/api/version", body=requests.exceptions.ConnectionError("refused"))
    out = run()
    assert f"Server {URL}\n" in out
    assert f"Server {URL_B}\n" in out
    assert "reachable: no" in out
    assert "1 of 2 server(s) ready" in out


def test_url_and_model_options(rsps):
    add_version(rsps, url=URL_B)
    add_tags(rsps, url=URL_B, model="phi3:latest")
    out = run("--url", URL_B, "--model", "phi3")
    assert "Model: phi3" in out
    assert "1 of 1 server(s) ready" in out


@pytest.mark.ollama
def test_check_ollama_passes_against_the_real_server(ollama_url, settings):
    settings.OLLAMA_API_URL = ollama_url
    out = run("--generate")
    assert "present, digest" in out
    assert "test generation:" in out
    assert "1 of 1 server(s) ready" in out


@pytest.mark.ollama
def test_check_ollama_fails_for_an_unknown_model_on_the_real_server(ollama_url, settings):
    settings.OLLAMA_API_URL = ollama_url
    with pytest.raises(CommandError, match="ollama pull no-such-model-xyz"):
        run("--model", "no-such-model-xyz")
