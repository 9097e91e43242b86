"""The whole clinical loop in a real browser, against the real stack.

A fresh database (SQLite file, or a throwaway PostgreSQL database when DATABASE_URL points at
PostgreSQL, as in CI) is migrated and loaded with the demo data by `manage.py seed_demo`; the
app runs as a separate `runserver` process beside a real `db_worker` process, talking to the
real Ollama server (OLLAMA_TEST_URL, from ../shared/ollama-cpu). Debian's chromium, driven by
Playwright, does what a doctor and a patient would do. Screenshots of the key pages are saved
in test-artifacts/e2e/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time

import pytest
import requests

from .browser import launched_chromium
from .processes import MANAGE, ROOT, WORKER, WorkerDatabase, environment, manage, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.ollama, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
DEMO_PASSWORD = "InHealth-demo-2026"
DOCTOR, PATIENT = "dr.chen", "maria.gonzalez"


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_server(tmp_path, ollama_url):
    """migrate + seed_demo, then runserver and db_worker as separate processes."""
    database = WorkerDatabase(tmp_path)
    env = environment(database, ollama_url, OLLAMA_NUM_PREDICT=160, OLLAMA_TIMEOUT=240)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    port = _free_port()
    logs = tmp_path / "server.log"
    with open(logs, "w") as log:
        web = subprocess.Popen(
            [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(WORKER, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(f"{base}/accounts/login/"), 60, "runserver to answer")
            yield base
        finally:
            for proc in (web, worker):
                proc.terminate()
            for proc in (web, worker):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            database.drop()
    if os.environ.get("E2E_SHOW_SERVER_LOG"):
        print(logs.read_text())


@pytest.fixture
def chromium_browser():
    with launched_chromium() as browser:
        yield browser


def _login(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    _submit(page, "button[type=submit]")
    return page


def _submit(page, selector: str) -> None:
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_doctor_and_patient_complete_the_loop(app_server, chromium_browser):
    base = app_server
    testid = "data-testid"

    # --- The doctor generates a proposal, accepts it and publishes a plan from it ---------
    doctor = _login(chromium_browser, base, DOCTOR)
    assert "/doctor/" in doctor.url
    _shot(doctor, "01-doctor-dashboard")
    _submit(doctor, f"[{testid}=nav-my-patients]")
    with doctor.expect_navigation():
        doctor.get_by_role("link", name=re.compile("Gonzalez")).first.click()
    assert doctor.locator(f"[{testid}=chart-patient-name]").inner_text().strip()
    _shot(doctor, "02-patient-chart")

    _submit(doctor, f"[{testid}=generate-ai-proposal]")
    _shot(doctor, "03-generate-page")
    started = time.monotonic()
    _submit(doctor, f"[{testid}=generate-ai-proposal-submit]")
    # The request returns at once to the proposal's page, which follows the generation live.
    assert re.search(r"/doctor/ai-proposals/\d+/", doctor.url)
    assert time.monotonic() - started < 15
    doctor.wait_for_selector(f"[{testid}=review-form]", timeout=240_000)
    assert doctor.locator(f"[{testid}=unreviewed-banner]").is_visible()
    assert doctor.locator(f"[{testid}=ai-disclaimer]").count() >= 1
    _shot(doctor, "04-proposal-generated")

    doctor.check(f"[{testid}=decision-accepted] input")
    doctor.fill("#id_doctor_notes", "Reasonable base; adjusting the follow-up interval.")
    _submit(doctor, f"[{testid}=submit-review]")
    assert doctor.locator(f"[{testid}=unreviewed-banner]").count() == 0
    assert "Accepted" in doctor.locator(f"[{testid}=proposal-status]").inner_text()

    _submit(doctor, f"[{testid}=create-plan-from-proposal]")
    title = "Blood pressure plan (e2e)"
    doctor.fill("#id_plan_title", title)
    assert doctor.input_value("#id_assessment").strip(), "the form is prefilled from the proposal"
    doctor.fill("#id_follow_up_instructions", "Blood pressure check in two weeks.")
    _shot(doctor, "05-plan-form-from-proposal")
    _submit(doctor, f"[{testid}=save-and-publish]")
    assert "Active" in doctor.locator(f"[{testid}=plan-status]").first.inner_text()
    plan_url = doctor.url
    _shot(doctor, "06-plan-published")

    # --- The patient sees it as New, opens it, acknowledges and sends feedback ------------
    patient = _login(chromium_browser, base, PATIENT)
    assert "/patient/" in patient.url
    plans = patient.locator(f"[{testid}=my-treatment-plans]")
    assert title in plans.inner_text()
    assert plans.locator(f"[{testid}=badge-new]").count() == 1
    _shot(patient, "07-patient-dashboard-new-plan")
    with patient.expect_navigation():
        plans.get_by_text(title).click()
    body = patient.content()
    assert "Reasonable base" not in body, "the doctor's review notes never reach the patient"
    _submit(patient, f"[{testid}=acknowledge-plan]")
    assert patient.locator(f"[{testid}=acknowledgement] [{testid}=badge-acknowledged]").count() == 1
    feedback = "Should I take the tablet in the morning or the evening?"
    patient.fill(f"[{testid}=feedback-form] textarea", feedback)
    _submit(patient, f"[{testid}=send-feedback]")
    assert feedback in patient.locator(f"[{testid}=feedback-history]").inner_text()
    _shot(patient, "08-patient-plan-acknowledged")
    patient.goto(f"{base}/patient/")
    assert patient.locator(f"[{testid}=badge-acknowledged]").count() == 1

    # --- The doctor sees the acknowledgement and the feedback -------------------------------
    doctor.goto(f"{base}/doctor/")
    dashboard = doctor.content()
    assert (
        feedback in dashboard
        or "1" in doctor.locator(f"[{testid}=unread-feedback-count]").inner_text()
    )
    _shot(doctor, "09-doctor-dashboard-feedback")
    doctor.goto(plan_url)
    _shot(doctor, "10-doctor-plan-feedback")
    acknowledged = doctor.locator(f"[{testid}=acknowledged-at]").inner_text()
    assert "not yet" not in acknowledged
    assert feedback in doctor.locator(f"[{testid}=feedback-history]").inner_text()
