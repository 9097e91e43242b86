"""A slow Ollama stand-in for the benchmarks: loopback only, stops by itself.

Answers /api/generate and /api/chat (streaming NDJSON or not) taking `--seconds` (10) per
proposal, the first words after `--first-token` (1 s), then the rest spread evenly; /api/tags,
/api/version and /api/show answer at once. The reply is a JSON object with the treatment-plan
sections (what the generator asks for with `format`), so generations complete.

    python bench/slow_ollama.py --port 0 --seconds 10 --lifetime 900
    # prints "LISTENING http://127.0.0.1:<port>" once it accepts connections
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "llama3.2"
DIGEST = hashlib.sha256(b"bench-slow-ollama").hexdigest()
SECTIONS = {
    "clinical_assessment": "BP above target on repeated readings; diabetes not at goal.",
    "treatment_goals": "1. BP below 130/80 within 3 months.\n2. HbA1c below 7% within 6 months.",
    "medications": "Increase lisinopril to 20 mg once daily; continue metformin.",
    "lifestyle_recommendations": "Reduce salt to under 5 g a day; walk 30 minutes on most days.",
    "follow_up": "BP check in 2 weeks; HbA1c and kidney function in 3 months.",
    "warnings_and_precautions": "Penicillin allergy noted. Watch potassium and creatinine.",
}
REPLY = json.dumps(SECTIONS, indent=1)


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seconds = 10.0
    first_token = 1.0

    def log_message(self, format, *args):  # quiet
        pass

    def _json(self, payload, status=200):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def do_GET(self):
        if self.path == "/api/version":
            return self._json({"version": "0.13.0-bench"})
        if self.path == "/api/tags":
            return self._json(
                {
                    "models": [
                        {
                            "name": f"{MODEL}:latest",
                            "model": f"{MODEL}:latest",
                            "digest": DIGEST,
                            "size": 1,
                            "modified_at": now(),
                            "details": {"family": "llama", "parameter_size": "bench"},
                        }
                    ]
                }
            )
        if self.path in ("/", "/api/ps"):
            return self._json({"models": []})
        return self._json({"error": "not found"}, 404)

    def do_POST(self):
        body = self._body()
        if self.path == "/api/show":
            return self._json(
                {"parameters": "num_ctx 8192", "details": {"family": "llama"}, "model_info": {}}
            )
        if self.path not in ("/api/generate", "/api/chat"):
            return self._json({"error": "not found"}, 404)
        chat = self.path == "/api/chat"
        started = time.monotonic()
        pieces = [REPLY[i : i + 16] for i in range(0, len(REPLY), 16)]
        prompt_tokens = max(1, len(json.dumps(body)) // 3)
        stats = {
            "done": True,
            "done_reason": "stop",
            "total_duration": int(self.seconds * 1e9),
            "load_duration": 0,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": int(self.first_token * 1e9),
            "eval_count": len(pieces),
            "eval_duration": int((self.seconds - self.first_token) * 1e9),
        }

        def message(text: str, done: bool) -> dict:
            base = {"model": MODEL, "created_at": now(), "done": done}
            if chat:
                base["message"] = {"role": "assistant", "content": text}
            else:
                base["response"] = text
            return base | (stats if done else {})

        if body.get("stream") is False:
            time.sleep(self.seconds)
            return self._json(message(REPLY, True))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = (self.seconds - self.first_token) / max(1, len(pieces))
        try:
            for n, piece in enumerate(pieces):
                due = started + self.first_token + n * step
                time.sleep(max(0.0, due - time.monotonic()))
                self._chunk(json.dumps(message(piece, False)) + "\n")
            time.sleep(max(0.0, started + self.seconds - time.monotonic()))
            self._chunk(json.dumps(message("", True)) + "\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunk(self, line: str) -> None:
        data = line.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def serve(port: int = 0, seconds: float = 10.0, first_token: float = 1.0) -> ThreadingHTTPServer:
    handler = type("BenchHandler", (Handler,), {"seconds": seconds, "first_token": first_token})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--first-token", type=float, default=1.0)
    parser.add_argument("--lifetime", type=float, default=900, help="stop after this many s")
    args = parser.parse_args()
    server = serve(args.port, args.seconds, args.first_token)
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    time.sleep(args.lifetime)
    server.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
