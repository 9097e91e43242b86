"""A stand-in Ollama server for tests: real HTTP on loopback, with faults switchable at run time.

It speaks enough of the Ollama API for the client and the generator: `POST /api/generate` and
`POST /api/chat` (streaming NDJSON, the server's default, and non-streaming), `GET /api/tags`
(with a digest), `GET /api/version` and `POST /api/show`. Unknown models get Ollama's 404.

Use it as a context manager::

    with OllamaStandIn() as server:
        server.mode = "busy"
        requests.post(f"{server.url}/api/generate", json={...})

or through the pytest fixture `ollama_standin`, which also points the settings at it with short
timeouts (OLLAMA_TIMEOUT 1 s, OLLAMA_CONNECT_TIMEOUT 0.5 s), so fault tests stay fast::

    from healthcare.tests.ollama_standin import ollama_standin_fixture  # noqa: F401

    def test_x(ollama_standin):
        ollama_standin.set_mode("cut_mid_stream")

Fault modes (`FAULT_MODES`): see the table below. Faults that are HTTP answers (statuses, bad
bodies, broken streams) apply to the generation endpoints (/api/generate, /api/chat) and leave
/api/tags, /api/version and /api/show healthy unless `fault_scope="all"`, so a readiness check
passes and the fault shows where it hurts. Connection faults (refused, hang, slow) hit every
endpoint, as they would on a real server. `delay` (before any answer) and `chunk_delay` (between
streamed chunks) work in every mode, e.g. to watch progress in a background-generation test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAULT_MODES: dict[str, str] = {
    "ok": "answers normally",
    "refused": "nothing listens on the port: connection refused",
    "hang": "accepts the request and never answers",
    "slow": "answers correctly, but only after `slow_delay` seconds (past the read timeout)",
    "not_found": "404 model not found (and /api/tags lists no model)",
    "server_error": "500 with an Ollama error body",
    "busy": "503 server busy (the queue is full)",
    "invalid_json": "200 with a body (or a stream line) that is not JSON",
    "error_mid_stream": "200, some text, then an {'error': ...} line (500 when not streaming)",
    "cut_mid_stream": "200, some text, then the connection is cut before the end",
    "empty": "200 with an empty body",
    "empty_text": "200, valid JSON, done, but the model wrote nothing",
    "too_long": "a reply far longer than num_predict, cut off, done_reason 'length'",
}
HTTP_FAULTS = {
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
GENERATION_PATHS = {"/api/generate", "/api/chat"}

OLLAMA_VERSION = "0.13.0-standin"
SERVER_BUSY = "server busy, please try again.  maximum pending requests exceeded"
MID_STREAM_ERROR = "an error was encountered while running the model: unexpected EOF"

# Plain text with the section headings a clinical prompt asks for. Every line is distinct, so a
# test can look for any of them (e.g. in logs, where none may appear).
DEFAULT_REPLY = """CLINICAL ASSESSMENT:
Standin assessment: blood pressure above target on two visits; HbA1c 8.5% shows poor control.

TREATMENT GOALS:
- Standin goal: blood pressure below 130/80 mmHg within 3 months.
- Standin goal: HbA1c below 7% within 6 months.

MEDICATIONS:
- Standin medication: consider increasing lisinopril to 20 mg once daily.
- Standin medication: start metformin 500 mg twice daily with meals if eGFR allows.

LIFESTYLE RECOMMENDATIONS:
- Standin lifestyle: reduce salt to under 2 g sodium a day.
- Standin lifestyle: walk 30 minutes on most days.

FOLLOW-UP:
- Standin follow-up: blood pressure check in 2 weeks; HbA1c in 3 months.

WARNINGS AND PRECAUTIONS:
- Standin warning: penicillin allergy on record; monitor potassium and creatinine.
"""
FILLER = "Standin filler sentence that keeps going past the token budget without an end. "


def _sample_for_schema(schema: Any, name: str = "value") -> Any:
    """A value that satisfies a (simple) JSON schema: what a well-behaved model would send."""
    if not isinstance(schema, dict):
        return f"Standin {name}."
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        return {
            key: _sample_for_schema(sub, key) for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_sample_for_schema(schema.get("items", {}), name)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    return f"Standin {name.replace('_', ' ')}: text from the stand-in server."


def default_reply(body: dict) -> str:
    """Plain text with headings, or JSON that fits the request's `format` schema."""
    fmt = body.get("format")
    if isinstance(fmt, dict):
        return json.dumps(_sample_for_schema(fmt))
    if fmt == "json":
        return json.dumps({"clinical_assessment": "Standin assessment.", "treatment_goals": []})
    return DEFAULT_REPLY


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: dict | None
    received_at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, standin: OllamaStandIn):
        self.standin = standin
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):
        """Quiet: the tests read the app's logs, not the stand-in's."""

    # --- plumbing ----------------------------------------------------------------------
    def _read_body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {"_unparsed": raw.decode("utf-8", "replace")}

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_bytes(status, json.dumps(payload).encode())

    def _send_bytes(self, status: int, data: bytes, content_type="application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection at once (a crashed server, a proxy timeout)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    # --- dispatch ----------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        body = self._read_body() if method == "POST" else None
        path = self.path.split("?", 1)[0]
        standin._record(RecordedRequest(method, path, body))
        mode, release = standin.mode, standin._release

        if standin.delay and release.wait(standin.delay):
            return self._cut()
        if mode == "hang":
            release.wait(standin.hang_limit)
            return self._cut()
        if mode == "slow" and release.wait(standin.slow_delay):
            return self._cut()

        faulty = mode in HTTP_FAULTS and (standin.fault_scope == "all" or path in GENERATION_PATHS)
        handler = {
            ("GET", "/"): lambda: self._send_bytes(200, b"Ollama is running", "text/plain"),
            ("HEAD", "/"): lambda: self._send_bytes(200, b"", "text/plain"),
            ("GET", "/api/version"): lambda: self._send_json(200, {"version": OLLAMA_VERSION}),
            ("GET", "/api/tags"): lambda: self._tags(mode),
            ("POST", "/api/show"): lambda: self._show(body or {}, mode),
            ("POST", "/api/generate"): lambda: self._generate(body or {}, mode if faulty else "ok"),
            ("POST", "/api/chat"): lambda: self._generate(body or {}, mode if faulty else "ok"),
        }.get((method, path))
        if handler is None:
            return self._send_bytes(404, b"404 page not found", "text/plain")
        # The client may have given up (its timeout): then there is nobody to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler()

    # --- endpoints ---------------------------------------------------------------------
    def _tags(self, mode: str) -> None:
        standin = self.server.standin
        if mode == "not_found":
            return self._send_json(200, {"models": []})
        if mode in HTTP_FAULTS and standin.fault_scope == "all":
            return self._fault_status(mode)
        self._send_json(200, {"models": [standin.model_entry(n) for n in standin.models]})

    def _show(self, body: dict, mode: str) -> None:
        standin = self.server.standin
        name = body.get("model") or body.get("name") or ""
        if mode == "not_found" or not standin.knows(name):
            return self._send_json(404, {"error": f"model '{name}' not found"})
        self._send_json(
            200,
            {
                "modelfile": "# stand-in",
                "parameters": "num_ctx 8192\nstop <|eot_id|>",
                "template": "{{ .Prompt }}",
                "details": standin.model_entry(name)["details"],
                "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                "capabilities": ["completion"],
                "modified_at": "2026-01-01T00:00:00Z",
            },
        )

    def _fault_status(self, mode: str) -> None:
        if mode == "server_error":
            return self._send_json(500, {"error": "llama runner process has terminated"})
        if mode == "busy":
            return self._send_json(503, {"error": SERVER_BUSY})
        return self._send_bytes(200, b"<html>not json</html>", "text/html")

    def _generate(self, body: dict, mode: str) -> None:
        standin = self.server.standin
        chat = self.path.startswith("/api/chat")
        name = body.get("model", "")
        stream = body.get("stream", True)  # Ollama streams unless told not to
        if mode == "not_found" or not standin.knows(name):
            return self._send_json(
                404, {"error": f"model '{name}' not found, try pulling it first"}
            )
        if mode in ("server_error", "busy"):
            return self._fault_status(mode)
        if mode == "empty":
            return self._send_bytes(200, b"")
        if mode == "invalid_json" and not stream:
            return self._send_bytes(200, b'{"model": "llama3.2", "response": "Standin trunc')

        text, done_reason, eval_count = standin.reply_for(body, mode)
        prompt = body.get("prompt") or json.dumps(body.get("messages", ""))
        final = {
            "model": name,
            "created_at": _now(),
            "done": True,
            "done_reason": done_reason,
            "total_duration": 1_500_000_000,
            "load_duration": 100_000_000,
            "prompt_eval_count": max(len(prompt) // 4, 1),
            "prompt_eval_duration": 400_000_000,
            "eval_count": eval_count,
            "eval_duration": 1_000_000_000,
        }

        def piece(content: str) -> dict:
            if chat:
                return {"message": {"role": "assistant", "content": content}}
            return {"response": content}

        if not stream:
            if mode == "error_mid_stream":
                return self._send_json(500, {"error": MID_STREAM_ERROR})
            payload = json.dumps({**final, **piece(text)}).encode()
            if mode == "cut_mid_stream":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                return self._cut()
            return self._send_bytes(200, payload)

        self._start_stream()
        chunks = list(_split(text))
        for index, chunk in enumerate(chunks):
            halfway = index >= max(len(chunks) // 2, 1)
            if halfway and mode == "error_mid_stream":
                self._send_chunk(json.dumps({"error": MID_STREAM_ERROR}) + "\n")
                return self._end_stream()
            if halfway and mode == "cut_mid_stream":
                return self._cut()
            if halfway and mode == "invalid_json":
                self._send_chunk('{"model": "llama3.2", "response": "Standin trunc\n')
                return self._end_stream()
            line = {"model": name, "created_at": _now(), "done": False, **piece(chunk)}
            self._send_chunk(json.dumps(line) + "\n")
            if standin.chunk_delay and standin._release.wait(standin.chunk_delay):
                return self._cut()
        if mode in ("cut_mid_stream", "error_mid_stream", "invalid_json"):
            return self._cut()  # a reply too short to reach "halfway": still broken
        self._send_chunk(json.dumps({**final, **piece("")}) + "\n")
        self._end_stream()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def _split(text: str, size: int = 24) -> Iterator[str]:
    """Stream pieces of a few words, like tokens arriving."""
    for start in range(0, len(text), size):
        yield text[start : start + size]


class OllamaStandIn:
    """The stand-in server. Thread-safe enough for tests: set `mode` (or call set_mode) at will."""

    def __init__(
        self,
        *,
        mode: str = "ok",
        models: tuple[str, ...] = ("llama3.2",),
        reply: str | Callable[[dict], str] | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        slow_delay: float = 3.0,
        hang_limit: float = 60.0,
        fault_scope: str = "generation",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.models = models
        self.reply = reply
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.slow_delay = slow_delay
        self.hang_limit = hang_limit
        self.fault_scope = fault_scope
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._mode = "ok"
        self.set_mode(mode)

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> OllamaStandIn:
        if self._server is None:
            self._listen()
            if self._mode == "refused":
                self._close_listener()  # the port is known now, and nothing listens on it
        return self

    def stop(self) -> None:
        """Stop listening and let every waiting handler go."""
        self._release.set()
        self._close_listener()

    def __enter__(self) -> OllamaStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _listen(self) -> None:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ollama-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- faults ------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.set_mode(value)

    def set_mode(self, mode: str, **options: Any) -> OllamaStandIn:
        """Switch the fault mode (and any option such as delay=..., reply=...)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {sorted(FAULT_MODES)}")
        for key, value in options.items():
            if not hasattr(self, key) or key.startswith("_"):
                raise TypeError(f"unknown option {key!r}")
            setattr(self, key, value)
        with self._lock:
            # Let handlers that wait in the old mode (hang, slow, delay) finish.
            self._release.set()
            self._release = threading.Event()
            was_listening = self._server is not None
            if mode == "refused" and was_listening:
                self._close_listener()
            elif mode != "refused" and not was_listening and self.port:
                self._listen()  # the same port again, so the same URL works after the fault
            self._mode = mode
        return self

    # --- what the server says ----------------------------------------------------------
    def knows(self, name: str) -> bool:
        base = name.removesuffix(":latest")
        return any(base == m.removesuffix(":latest") for m in self.models)

    def model_entry(self, name: str) -> dict:
        base = name.removesuffix(":latest")
        return {
            "name": f"{base}:latest",
            "model": f"{base}:latest",
            "modified_at": "2026-01-01T00:00:00Z",
            "size": 1_234_567,
            "digest": self.digest(base),
            "details": {
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "135M",
                "quantization_level": "Q4_K_M",
            },
        }

    @staticmethod
    def digest(name: str) -> str:
        return hashlib.sha256(f"standin:{name}".encode()).hexdigest()

    def reply_for(self, body: dict, mode: str) -> tuple[str, str, int]:
        """(text, done_reason, eval_count) for a generation request in `mode`."""
        if mode == "empty_text":
            return "", "stop", 0
        reply = self.reply if self.reply is not None else default_reply
        text = reply(body) if callable(reply) else reply
        if mode == "too_long":
            num_predict = int((body.get("options") or {}).get("num_predict") or 128)
            # Far past the budget: the text runs on and is cut mid-sentence, as with "length".
            words_wanted = num_predict * 4
            padding = (FILLER * (words_wanted // len(FILLER.split()) + 1)).strip()
            text = text[: len(text) // 2] + " " + padding
            return text[: len(text) - 7], "length", num_predict
        return text, "stop", max(len(text.split()), 1)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def generation_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path in GENERATION_PATHS]


# --- pytest -----------------------------------------------------------------------------------
STANDIN_READ_TIMEOUT = 1.0
STANDIN_CONNECT_TIMEOUT = 0.5


@pytest.fixture(name="ollama_standin")
def ollama_standin_fixture(settings) -> Iterator[OllamaStandIn]:
    """A running stand-in, with the settings pointed at it and short timeouts."""
    with OllamaStandIn(slow_delay=STANDIN_READ_TIMEOUT + 1.5) as server:
        settings.OLLAMA_API_URL = server.url
        settings.OLLAMA_MODEL = "llama3.2"
        settings.OLLAMA_TIMEOUT = STANDIN_READ_TIMEOUT
        settings.OLLAMA_CONNECT_TIMEOUT = STANDIN_CONNECT_TIMEOUT
        yield server
