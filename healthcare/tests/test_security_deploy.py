"""Deployment security (issue 6, item 4): headers, CSP, production settings.

The production switches are computed when settings load, so the DEBUG=False checks run
`manage.py` in a subprocess with a production environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "test-only-" + "k3y" * 20,
    "ALLOWED_HOSTS": "inhealth.example.org",
    # In-memory database: these checks never touch the developer's or CI's database.
    "DATABASE_URL": "sqlite://:memory:",
}


def _run_manage(*args: str, env_overrides: dict[str, str], code: str | None = None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}
        and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))
    }
    env.update(env_overrides)
    command = [sys.executable, "manage.py", *args] if code is None else [sys.executable, "-c", code]
    return subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


# --- Headers on every response ------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["login", "doctor_dashboard"])
def test_security_headers_present(doctor_client, url_name):
    response = doctor_client.get(reverse(url_name))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = _csp_directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_fixture", "url_name"),
    [
        ("doctor_client", "doctor_dashboard"),
        ("patient_client", "patient_treatment_plans"),
        ("staff_client", "admin:index"),
        ("client", "login"),
    ],
)
def test_pages_are_never_stored_by_the_browser(request, client_fixture, url_name):
    """Shared workstations: after logout, the back button must not show the last patient."""
    response = request.getfixturevalue(client_fixture).get(reverse(url_name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.django_db
def test_a_view_that_sets_its_own_cache_control_keeps_it(doctor_client, doctor, patient):
    from healthcare.tests.factories import AIProposedTreatmentPlanFactory

    proposal = AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    response = doctor_client.get(reverse("doctor_ai_proposal_status", args=[proposal.pk]))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_csp_forbids_inline_script_and_style(client):
    csp = _csp_directives(client.get(reverse("login"))["Content-Security-Policy"])
    for directive in ("script-src", "style-src", "default-src"):
        sources = csp.get(directive, [])
        assert "'unsafe-inline'" not in sources, directive
        assert "'unsafe-eval'" not in sources, directive
        # No third party: every source is this origin, data: images or none.
        assert all(s in {"'self'", "'none'", "data:"} for s in sources), (directive, sources)
    assert "script-src" in csp
    assert "style-src" in csp


@pytest.mark.django_db
def test_admin_pages_carry_the_same_headers(staff_client):
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


# --- Templates honour the CSP -------------------------------------------------------------
TEMPLATE_DIRS = [BASE_DIR / "templates", BASE_DIR / "healthcare" / "templates"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"\sstyle\s*=|<style", re.I)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}")
UNSAFE_FILTER = re.compile(r"\|\s*safe\b|\bautoescape\s+off\b|mark_safe")


def _templates():
    for folder in TEMPLATE_DIRS:
        yield from sorted(folder.rglob("*.html"))


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (INLINE_SCRIPT, "an inline <script> body"),
        (INLINE_HANDLER, "an inline on...= event handler"),
        (INLINE_STYLE, "an inline style"),
        (UNSAFE_FILTER, "|safe / autoescape off (model and patient text must be escaped)"),
    ],
)
def test_no_template_breaks_the_csp_or_escaping(pattern, what):
    offenders = [
        f"{path.relative_to(BASE_DIR)}:{n}"
        for path in _templates()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(TEMPLATE_COMMENT.sub("", line))
    ]
    assert offenders == [], f"{what} in: {offenders}"


def test_python_code_never_marks_text_safe():
    offenders = [
        str(path.relative_to(BASE_DIR))
        for path in (BASE_DIR / "healthcare").rglob("*.py")
        if "tests" not in path.parts
        and re.search(r"\bmark_safe\b|SafeString\(|\.safe_join\b", path.read_text())
    ]
    assert offenders == []


# --- Production settings (DEBUG=False) ----------------------------------------------------
def test_check_deploy_is_clean_in_production():
    result = _run_manage("check", "--deploy", "--fail-level", "DEBUG", env_overrides=PRODUCTION_ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_missing_secret_key_in_production_is_a_clear_error():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _run_manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
email_backend = settings.EMAIL_BACKEND
setup_test_environment()
call_command("migrate", verbosity=0)
client = Client(SERVER_NAME="inhealth.example.org")
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "secure_status": secure.status_code,
    "hsts": secure.get("Strict-Transport-Security", ""),
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "debug": settings.DEBUG,
    "email_backend": email_backend,
    "bad_host": client.get("/accounts/login/", secure=True, HTTP_HOST="evil.example").status_code,
}))
"""


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    """Production environment with collected static files (the manifest storage needs them)."""
    env = {
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "django_inhealth.settings",
        "STATIC_ROOT": str(tmp_path_factory.mktemp("static")),
    }
    result = _run_manage("collectstatic", "--noinput", "-v0", env_overrides=env)
    assert result.returncode == 0, result.stderr
    return env


def test_production_redirects_to_https_and_sends_hsts(production_env):
    env = production_env
    result = _run_manage(env_overrides=env, code=PROBE)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["debug"] is False
    assert probe["plain_status"] == 301
    assert probe["plain_location"].startswith("https://")
    assert probe["secure_status"] == 200
    assert "max-age=31536000" in probe["hsts"]
    assert "includeSubDomains" in probe["hsts"]
    assert probe["csrf_cookie_secure"] is True
    assert probe["session_cookie_secure"] is True
    assert probe["bad_host"] == 400  # ALLOWED_HOSTS enforced
    # Nothing leaves the machine unless configured: no mail server by default.
    assert probe["email_backend"] == "django.core.mail.backends.dummy.EmailBackend"


def test_debug_error_pages_are_not_shown_in_production(production_env):
    """With DEBUG=False a broken request shows the plain 404 page, not Django's debug page."""
    code = PROBE.replace(
        "print(json.dumps({", 'r = client.get("/no-such-page/", secure=True)\nprint(json.dumps({'
    ).replace('"debug": settings.DEBUG,', '"debug": settings.DEBUG, "nf": r.content.decode(),')
    result = _run_manage(env_overrides=production_env, code=code)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Traceback" not in probe["nf"]
    assert "URLconf" not in probe["nf"]
    assert "DEBUG = True" not in probe["nf"]
