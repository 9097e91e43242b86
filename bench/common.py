"""Shared helpers of the benchmarks: a throwaway site (database, gunicorn, workers) on loopback.

Everything is started as child processes of the benchmark and stopped by it (by pid), with
time limits, so a benchmark never leaves anything running.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MANAGE = [PY, str(ROOT / "manage.py")]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 1) if values else None,
        "p95_ms": round(percentile(values, 95) * 1000, 1) if values else None,
    }


class Database:
    """A fresh database: a SQLite file (default) or, with a postgres:// base URL, a new
    PostgreSQL database with a random name that is dropped at the end."""

    def __init__(self, workdir: Path, postgres_url: str | None = None):
        self.postgres_url = postgres_url
        if postgres_url:
            self.name = f"inhealth_bench_{uuid.uuid4().hex[:8]}"
            base = postgres_url.rsplit("/", 1)[0]
            self.url = f"{base}/{self.name}"
            self._admin(f'CREATE DATABASE "{self.name}"')
        else:
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.postgres_url.rsplit("/", 1)[0] + "/postgres")
        conn.autocommit = True
        conn.cursor().execute(sql)
        conn.close()

    def drop(self) -> None:
        if self.postgres_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@contextmanager
def django_in_process(postgres_url: str | None = None, **env: str):
    """Django set up in this process on a fresh, migrated database, dropped at the end."""
    with tempfile.TemporaryDirectory(prefix="inhealth-bench-") as tmp:
        db = Database(Path(tmp), postgres_url)
        os.environ["DATABASE_URL"] = db.url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_inhealth.settings")
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ.update(env)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        try:
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            yield
        finally:
            from django.db import connections

            connections.close_all()
            db.drop()


class Site:
    """Migrated database, collected static files, and (on demand) gunicorn and workers."""

    def __init__(self, *, ollama_url: str, postgres_url: str | None = None, **env):
        self.tmp = tempfile.TemporaryDirectory(prefix="inhealth-bench-")
        self.workdir = Path(self.tmp.name)
        self.db = Database(self.workdir, postgres_url)
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.db.url,
            DEBUG="False",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="False",
            SESSION_COOKIE_SECURE="False",
            CSRF_COOKIE_SECURE="False",
            SECURE_HSTS_SECONDS="0",
            STATIC_ROOT=str(self.workdir / "static"),
            OLLAMA_API_URL=ollama_url,
            OLLAMA_MODEL="llama3.2",
            AXES_ENABLED="False",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.env.update({k: str(v) for k, v in env.items()})
        self.procs: list[subprocess.Popen] = []
        self.base_url = ""

    def manage(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [*MANAGE, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def run_python(self, code: str, timeout: float = 1800) -> dict:
        """Run code in `manage.py shell`; it must print one line 'RESULT:<json>'."""
        out = self.manage("shell", "-c", code, timeout=timeout)
        line = next(x for x in out.splitlines() if x.startswith("RESULT:"))
        return json.loads(line.removeprefix("RESULT:"))

    def setup(self) -> Site:
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        return self

    def start_web(self, workers: int = 5) -> str:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        cmd = [
            PY, "-m", "gunicorn", "django_inhealth.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--timeout", "60", "--log-level", "warning",
        ]  # fmt: skip
        self._spawn(cmd)
        self._wait_http(self.base_url + "/accounts/login/")
        return self.base_url

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            self._spawn(
                [*MANAGE, "db_worker", "--queue-name", "*", "--no-reload", "--interval", "1"]
            )

    def _spawn(self, cmd: list[str]) -> None:
        proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"proc-{len(self.procs)}.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )
        self.procs.append(proc)

    def _wait_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not come up in {timeout} s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs.clear()
        self.db.drop()
        self.tmp.cleanup()


@contextmanager
def site(**kwargs):
    s = Site(**kwargs)
    try:
        yield s
    finally:
        s.stop()


@contextmanager
def slow_ollama(seconds: float = 10.0, first_token: float = 1.0, lifetime: float = 1800):
    """The stand-in in its own process (so it does not share the benchmark's GIL)."""
    proc = subprocess.Popen(
        [
            PY, str(ROOT / "bench" / "slow_ollama.py"), "--seconds", str(seconds),
            "--first-token", str(first_token), "--lifetime", str(lifetime),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError("the Ollama stand-in did not start")
        yield line.split()[1]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def csrf_token(session: requests.Session, page_url: str) -> str:
    """GET a page with a form; its CSRF token (the session keeps the cookie)."""
    page = session.get(page_url, timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if page.status_code != 200 or token is None:
        raise RuntimeError(f"no form at {page_url}: HTTP {page.status_code} {page.url}")
    return token.group(1)


def login(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session, f"{base_url}/accounts/login/")
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed ({response.status_code})")
    return session
