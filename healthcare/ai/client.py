"""OllamaAPIClient: one requests.Session, one or several Ollama servers, typed errors, metrics.

Facts about the API are in ../shared/DESIGN.md ("Talking to Ollama"). What matters here:

- a short connect timeout and a long read timeout (a cold model load can take minutes);
- streaming replies are NDJSON and an `{"error": ...}` line can arrive after HTTP 200, so every
  line is checked;
- OLLAMA_API_URL may list several servers, comma-separated. Each call goes to the healthy
  server used least recently; a server that refuses the connection, does not accept it in time
  or answers 503 is marked down for a short cool-off and the call moves on to the next one.
  Nothing is retried once the server has accepted the work (a read timeout or an error in the
  middle of a stream is raised as it is: the generation may still be running there).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import ReadTimeoutError

from .errors import (
    OllamaBusyError,
    OllamaError,
    OllamaModelNotFoundError,
    OllamaResponseError,
    OllamaServerError,
    OllamaTimeoutError,
    OllamaUnavailableError,
)
from .prompt import estimate_tokens, needed_num_ctx

logger = logging.getLogger("healthcare.ai")

DEFAULT_SERVER = "http://localhost:11434"
# Listing models or asking for the version never needs the long generation timeout.
METADATA_READ_TIMEOUT = 30.0
DEFAULT_COOLOFF_SECONDS = 30.0
ERROR_DETAIL_LIMIT = 200


def parse_server_list(value: Any) -> list[str]:
    """`"http://a:11434, http://b:11434/"` -> `["http://a:11434", "http://b:11434"]`."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    urls: list[str] = []
    for item in items:
        url = str(item).strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls or [DEFAULT_SERVER]


def cooloff_seconds() -> float:
    return float(getattr(settings, "OLLAMA_SERVER_COOLOFF", DEFAULT_COOLOFF_SECONDS))


class ServerHealth:
    """Which servers are down and which was used last, shared by every client in the process.

    A per-process view is enough: each worker learns on its own that a server is down, at the
    cost of one failed connection attempt per cool-off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._last_used: dict[str, int] = {}
        self._tick = 0

    def order(self, urls: list[str]) -> list[str]:
        """Healthy servers, least recently used first; then the ones cooling off, as a last
        resort (a single server that failed once must not refuse every call for 30 s)."""
        now = time.monotonic()
        with self._lock:
            healthy = [u for u in urls if self._down_until.get(u, 0.0) <= now]
            down = [u for u in urls if u not in healthy]
            healthy.sort(key=lambda u: self._last_used.get(u, -1))
            down.sort(key=lambda u: self._down_until[u])
        return healthy + down

    def mark_used(self, url: str) -> None:
        with self._lock:
            self._tick += 1
            self._last_used[url] = self._tick

    def mark_down(self, url: str, seconds: float | None = None) -> None:
        seconds = cooloff_seconds() if seconds is None else seconds
        with self._lock:
            self._down_until[url] = time.monotonic() + seconds

    def mark_up(self, url: str) -> None:
        with self._lock:
            self._down_until.pop(url, None)

    def is_down(self, url: str) -> bool:
        with self._lock:
            return self._down_until.get(url, 0.0) > time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._down_until.clear()
            self._last_used.clear()
            self._tick = 0


SERVER_HEALTH = ServerHealth()


def normalise_model_name(name: str) -> str:
    """Ollama lists `llama3.2` as `llama3.2:latest`."""
    name = (name or "").strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def find_model(models: list[dict], name: str) -> dict | None:
    wanted = normalise_model_name(name)
    for entry in models:
        for key in ("name", "model"):
            if normalise_model_name(str(entry.get(key, ""))) == wanted:
                return entry
    return None


@dataclass
class ServerReadiness:
    url: str
    model: str
    reachable: bool = False
    version: str = ""
    model_present: bool = False
    digest: str = ""
    error: str = ""
    cooling_off: bool = False

    @property
    def ready(self) -> bool:
        return self.reachable and self.model_present


@dataclass
class ReadinessReport:
    model: str
    servers: list[ServerReadiness] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return any(s.ready for s in self.servers)

    @property
    def ready_servers(self) -> list[ServerReadiness]:
        return [s for s in self.servers if s.ready]

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.servers if s.error]

    def __bool__(self) -> bool:
        return self.ready


# Which error to raise when every server failed: the most actionable one.
_FAILOVER_PRIORITY = (
    OllamaModelNotFoundError,
    OllamaBusyError,
    OllamaTimeoutError,
    OllamaUnavailableError,
)


class OllamaAPIClient:
    """Client of the Ollama HTTP API (`/api/generate`, `/api/chat`, `/api/tags`, ...)."""

    def __init__(
        self,
        base_url: str | list[str] | None = None,
        model: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.servers = parse_server_list(
            base_url if base_url is not None else settings.OLLAMA_API_URL
        )
        self.base_url = self.servers[0]
        self.model = model or settings.OLLAMA_MODEL
        self.timeout = float(timeout if timeout is not None else settings.OLLAMA_TIMEOUT)
        self.connect_timeout = float(
            connect_timeout if connect_timeout is not None else settings.OLLAMA_CONNECT_TIMEOUT
        )
        self.session = requests.Session()
        self.last_server: str | None = None
        self._digests: dict[tuple[str, str], str] = {}
        self._versions: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"OllamaAPIClient(servers={self.servers!r}, model={self.model!r})"

    def close(self) -> None:
        self.session.close()

    # --- Generation ---------------------------------------------------------------------
    def generate(
        self,
        prompt: str,
        stream: bool = False,
        options: dict | None = None,
        *,
        system: str | None = None,
        format: dict | str | None = None,
        on_chunk: Callable[[str], None] | None = None,
        keep_alive: str | int | None = None,
        model: str | None = None,
        server: str | None = None,
    ) -> dict:
        """Generate text from a prompt. Returns the text and Ollama's metrics (see `_result`).

        `options` are laid over the project's defaults (`default_options()`). Without a
        `num_ctx` there, one is sized for the prompt and `num_predict` (capped by
        OLLAMA_MAX_NUM_CTX); the result's `prompt_truncated` says whether the server's
        `prompt_eval_count` reached it, i.e. the prompt may have been cut.
        """
        payload: dict[str, Any] = {"model": model or self.model, "prompt": prompt}
        if system is not None:
            payload["system"] = system
        return self._completion(
            "/api/generate", payload, stream, options, format, keep_alive, on_chunk, server
        )

    def chat(
        self,
        messages: list[dict],
        stream: bool = False,
        options: dict | None = None,
        *,
        format: dict | str | None = None,
        on_chunk: Callable[[str], None] | None = None,
        keep_alive: str | int | None = None,
        model: str | None = None,
        server: str | None = None,
    ) -> dict:
        """Chat-based generation. Same return keys as `generate`, plus `message`."""
        payload: dict[str, Any] = {"model": model or self.model, "messages": list(messages)}
        result = self._completion(
            "/api/chat", payload, stream, options, format, keep_alive, on_chunk, server
        )
        result["message"] = {"role": "assistant", "content": result["response"]}
        return result

    @staticmethod
    def default_options() -> dict:
        """The project's generation defaults (settings OLLAMA_TEMPERATURE, _TOP_P, _TOP_K,
        _NUM_PREDICT and the optional dict OLLAMA_EXTRA_OPTIONS)."""
        options = {
            "temperature": settings.OLLAMA_TEMPERATURE,
            "top_p": settings.OLLAMA_TOP_P,
            "top_k": settings.OLLAMA_TOP_K,
            "num_predict": settings.OLLAMA_NUM_PREDICT,
        }
        options.update(getattr(settings, "OLLAMA_EXTRA_OPTIONS", None) or {})
        return options

    def _completion(self, path, payload, stream, options, fmt, keep_alive, on_chunk, server):
        payload["stream"] = bool(stream)
        if fmt is not None:
            payload["format"] = fmt
        # Settings first, the caller's options on top: a bare generate() still gets the
        # project's low temperature and num_predict cap, never the server's unlimited default.
        payload["options"] = self.default_options() | dict(options or {})
        if not payload["options"].get("num_ctx"):
            # Never the server's default window (2048 on some servers, which cuts a longer
            # prompt silently from the front): size it for this prompt and the reply.
            payload["options"]["num_ctx"] = min(
                needed_num_ctx(
                    estimate_tokens(_prompt_text(payload)),
                    int(payload["options"].get("num_predict") or 0),
                ),
                int(settings.OLLAMA_MAX_NUM_CTX),
            )
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        model = payload["model"]
        started = time.perf_counter()

        def attempt(url: str) -> tuple[dict, str]:
            response = self._send("POST", url, path, payload, stream=bool(stream), model=model)
            try:
                if stream:
                    return self._read_stream(response, url, model, on_chunk)
                return self._read_single(response, url, model)
            finally:
                response.close()

        (final, text), url = self._with_failover(attempt, server)
        result = self._result(final, text, url, model, time.perf_counter() - started)
        result["num_ctx"] = num_ctx = payload["options"]["num_ctx"]
        # The server cuts a prompt that does not fit without saying so; the only sign is a
        # prompt_eval_count that reaches the window (DESIGN.md, measured).
        prompt_tokens = result["prompt_tokens"]
        result["prompt_truncated"] = isinstance(prompt_tokens, int) and prompt_tokens >= num_ctx
        if result["prompt_truncated"]:
            logger.warning(
                "ollama prompt filled the context window server=%s prompt_tokens=%s num_ctx=%s",
                url,
                prompt_tokens,
                num_ctx,
            )
        return result

    @staticmethod
    def _result(final: dict, text: str, url: str, model: str, elapsed: float) -> dict:
        return {
            "response": text,
            "prompt_tokens": final.get("prompt_eval_count"),
            "completion_tokens": final.get("eval_count"),
            "generation_time": round(elapsed, 3),
            "done_reason": final.get("done_reason") or "",
            "total_duration": final.get("total_duration"),
            "load_duration": final.get("load_duration"),
            "prompt_eval_duration": final.get("prompt_eval_duration"),
            "eval_duration": final.get("eval_duration"),
            "model": final.get("model") or model,
            "server": url,
            "created_at": final.get("created_at"),
        }

    # --- Metadata -------------------------------------------------------------------------
    def list_models(self, *, server: str | None = None) -> list[dict]:
        """The models pulled on the server (`GET /api/tags`), each with `name` and `digest`."""
        data = self._metadata("GET", "/api/tags", server=server)
        models = data.get("models")
        return models if isinstance(models, list) else []

    def version(self, *, server: str | None = None) -> str:
        """The server's version (`GET /api/version`)."""
        data = self._metadata("GET", "/api/version", server=server)
        version = str(data.get("version") or "")
        if server or self.last_server:
            self._versions[server or self.last_server] = version
        return version

    def show(self, model: str | None = None, *, server: str | None = None) -> dict:
        """The model's details and parameters (`POST /api/show`)."""
        model = model or self.model
        return self._metadata("POST", "/api/show", {"model": model}, server=server, model=model)

    def model_digest(self, model: str | None = None, *, server: str | None = None) -> str:
        """The digest of the model on that server, from `/api/tags` (cached per client)."""
        model = model or self.model
        url = (server or self.last_server or self.base_url).rstrip("/")
        key = (url, normalise_model_name(model))
        if key not in self._digests:
            entry = find_model(self.list_models(server=url), model)
            if entry is None:
                raise OllamaModelNotFoundError(model, server=url)
            self._digests[key] = str(entry.get("digest") or "")
        return self._digests[key]

    def server_version(self, server: str | None = None) -> str:
        """`version()` of one server, cached per client."""
        url = (server or self.last_server or self.base_url).rstrip("/")
        if url not in self._versions:
            self._versions[url] = self.version(server=url)
        return self._versions[url]

    def check_ready(self, model: str | None = None) -> ReadinessReport:
        """Ask every configured server whether it answers and has the model pulled."""
        model = model or self.model
        report = ReadinessReport(model=model)
        for url in self.servers:
            status = ServerReadiness(url=url, model=model, cooling_off=SERVER_HEALTH.is_down(url))
            report.servers.append(status)
            try:
                status.version = self.version(server=url)
                status.reachable = True
                entry = find_model(self.list_models(server=url), model)
            except OllamaError as exc:
                status.error = exc.user_message
                continue
            if entry is None:
                status.error = OllamaModelNotFoundError(model, server=url).user_message
                continue
            status.model_present = True
            status.digest = str(entry.get("digest") or "")
            self._digests[(url, normalise_model_name(model))] = status.digest
        return report

    def _metadata(self, method, path, payload=None, *, server=None, model=None) -> dict:
        def attempt(url: str) -> dict:
            response = self._send(
                method,
                url,
                path,
                payload,
                stream=False,
                model=model,
                read_timeout=min(self.timeout, METADATA_READ_TIMEOUT),
            )
            try:
                return self._json_body(response, url)
            finally:
                response.close()

        data, _url = self._with_failover(attempt, server)
        return data

    # --- Transport --------------------------------------------------------------------------
    def _with_failover(self, attempt: Callable[[str], Any], server: str | None):
        """Run `attempt(url)` on one server after another until one accepts the work."""
        if server:
            url = server.rstrip("/")
            return attempt(url), url
        failures: list[OllamaError] = []
        for url in SERVER_HEALTH.order(self.servers):
            SERVER_HEALTH.mark_used(url)
            try:
                result = attempt(url)
            except (OllamaUnavailableError, OllamaBusyError) as exc:
                self._mark_down(url, exc)
                failures.append(exc)
                continue
            except OllamaTimeoutError as exc:
                if exc.phase != "connect":
                    raise
                self._mark_down(url, exc)
                failures.append(exc)
                continue
            except OllamaModelNotFoundError as exc:
                # Another server may have it; this one is healthy, only the model is missing.
                failures.append(exc)
                if len(self.servers) > 1:
                    logger.warning("ollama model missing server=%s", url)
                continue
            SERVER_HEALTH.mark_up(url)
            self.last_server = url
            return result, url
        raise self._pick_failure(failures)

    @staticmethod
    def _mark_down(url: str, exc: OllamaError) -> None:
        SERVER_HEALTH.mark_down(url)
        logger.warning(
            "ollama server marked down server=%s error_type=%s cooloff=%.0fs",
            url,
            exc.error_type,
            cooloff_seconds(),
        )

    def _pick_failure(self, failures: list[OllamaError]) -> OllamaError:
        for kind in _FAILOVER_PRIORITY:
            for exc in failures:
                if isinstance(exc, kind):
                    if len(failures) > 1 and not isinstance(exc, OllamaModelNotFoundError):
                        exc.user_message = (
                            f"None of the {len(failures)} AI servers (Ollama) could take the "
                            "request: " + "; ".join(f.user_message for f in failures)
                        )
                        exc.args = (exc.user_message,)
                    return exc
        return failures[0] if failures else OllamaUnavailableError("No Ollama server configured.")

    def _send(self, method, url, path, payload, *, stream, model=None, read_timeout=None):
        timeout = (self.connect_timeout, self.timeout if read_timeout is None else read_timeout)
        try:
            response = self.session.request(
                method, url + path, json=payload, stream=stream, timeout=timeout
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise OllamaTimeoutError(
                f"The AI server {url} did not accept the connection within "
                f"{self.connect_timeout:g} s. Check that it runs and is reachable.",
                server=url,
                phase="connect",
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise self._read_timeout(url) from exc
        except requests.exceptions.ConnectionError as exc:
            if _is_read_timeout(exc):
                raise self._read_timeout(url) from exc
            raise OllamaUnavailableError(
                f"The AI server {url} cannot be reached (connection refused or unknown host). "
                "Start it with `ollama serve` or check OLLAMA_API_URL.",
                server=url,
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise OllamaUnavailableError(
                f"The AI server address {url} cannot be used ({type(exc).__name__}). "
                "Check OLLAMA_API_URL.",
                server=url,
            ) from exc
        if response.status_code >= 400:
            try:
                raise self._http_error(response, url, path, model)
            finally:
                response.close()
        return response

    def _read_timeout(self, url: str) -> OllamaTimeoutError:
        return OllamaTimeoutError(
            f"The AI server {url} did not answer within {self.timeout:g} s "
            "(OLLAMA_TIMEOUT). The model may still be loading: try again in a minute.",
            server=url,
            phase="read",
        )

    @staticmethod
    def _http_error(response, url: str, path: str, model: str | None) -> OllamaError:
        status = response.status_code
        detail = _error_detail(response)
        if status == 404 and model and "not found" in detail.lower():
            return OllamaModelNotFoundError(model, server=url, detail=detail)
        if status == 404:
            return OllamaServerError(
                f"{url}{path} does not exist (HTTP 404): is OLLAMA_API_URL an Ollama server?",
                server=url,
            )
        if status == 503:
            return OllamaBusyError(
                f"The AI server {url} is busy (HTTP 503{': ' + detail if detail else ''}). "
                "Try again in a minute.",
                server=url,
            )
        if status >= 500:
            return OllamaServerError(
                f"The AI server {url} failed (HTTP {status}{': ' + detail if detail else ''}). "
                "Check the Ollama server's log.",
                server=url,
            )
        return OllamaServerError(
            f"The AI server {url} refused the request (HTTP {status}"
            f"{': ' + detail if detail else ''}).",
            server=url,
        )

    @staticmethod
    def _line_error(message: Any, url: str, model: str) -> OllamaError:
        text = str(message)[:ERROR_DETAIL_LIMIT]
        if "not found" in text.lower() and "model" in text.lower():
            return OllamaModelNotFoundError(model, server=url, detail=text)
        return OllamaServerError(f"The AI server {url} stopped with an error: {text}", server=url)

    @staticmethod
    def _json_body(response, url: str) -> dict:
        try:
            data = response.json()
        except ValueError as exc:
            raise OllamaResponseError(
                f"The AI server {url} sent a reply that is not valid JSON. "
                "Is OLLAMA_API_URL an Ollama server?",
                server=url,
            ) from exc
        if not isinstance(data, dict):
            raise OllamaResponseError(
                f"The AI server {url} sent a reply of an unexpected shape.", server=url
            )
        return data

    def _read_single(self, response, url: str, model: str) -> tuple[dict, str]:
        data = self._json_body(response, url)
        if data.get("error"):
            raise self._line_error(data["error"], url, model)
        text = _text_of(data)
        if text is None:
            raise OllamaResponseError(
                f"The AI server {url} sent a reply without any text.", server=url
            )
        if data.get("done") is False:
            raise OllamaResponseError(f"The AI server {url} sent an unfinished reply.", server=url)
        return data, text

    def _read_stream(self, response, url: str, model: str, on_chunk) -> tuple[dict, str]:
        text = ""
        try:
            for line in response.iter_lines():
                if not line or not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise OllamaResponseError(
                        f"The AI server {url} sent a malformed line in its streamed reply.",
                        server=url,
                    ) from exc
                if not isinstance(obj, dict):
                    raise OllamaResponseError(
                        f"The AI server {url} sent a streamed line of an unexpected shape.",
                        server=url,
                    )
                if obj.get("error"):
                    raise self._line_error(obj["error"], url, model)
                piece = _text_of(obj) or ""
                if piece:
                    text += piece
                    if on_chunk is not None:
                        on_chunk(text)
                if obj.get("done"):
                    return obj, text
        except OllamaError:
            raise  # (the timeout and connection errors are requests exceptions too)
        except requests.exceptions.ConnectionError as exc:
            if _is_read_timeout(exc):
                raise self._read_timeout(url) from exc
            raise self._cut_stream(url) from exc
        except requests.exceptions.RequestException as exc:
            raise self._cut_stream(url) from exc
        raise self._cut_stream(url)

    @staticmethod
    def _cut_stream(url: str) -> OllamaResponseError:
        return OllamaResponseError(
            f"The AI server {url} stopped before finishing its reply (stream cut). "
            "Try again; if it repeats, check the Ollama server's log.",
            server=url,
        )


def _prompt_text(payload: dict) -> str:
    """Everything of a request that counts against the context window."""
    if "messages" in payload:
        # A few tokens of chat template around each message.
        return "\n\n\n\n".join(str(m.get("content") or "") for m in payload["messages"])
    return f"{payload.get('system') or ''}\n\n{payload.get('prompt') or ''}"


def _text_of(obj: dict) -> str | None:
    if "response" in obj:
        return str(obj.get("response") or "")
    message = obj.get("message")
    if isinstance(message, dict) and "content" in message:
        return str(message.get("content") or "")
    return None


def _error_detail(response) -> str:
    try:
        data = response.json()
        detail = data.get("error", "") if isinstance(data, dict) else ""
    except ValueError:
        detail = response.text or ""
    return " ".join(str(detail).split())[:ERROR_DETAIL_LIMIT]


def _is_read_timeout(exc: BaseException) -> bool:
    """requests wraps a read timeout while the body streams as a ConnectionError."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ReadTimeoutError | requests.exceptions.ReadTimeout):
            return True
        for arg in getattr(current, "args", ()):
            if isinstance(arg, ReadTimeoutError):
                return True
        current = current.__cause__ or current.__context__
    return False
