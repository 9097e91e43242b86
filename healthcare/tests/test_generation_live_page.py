"""The proposal page follows a generation live, in a real browser (static/js/generation_status.js).

Debian's chromium through Playwright against pytest-django's live_server: the page shows the
text as the worker saves it, without reloading (a marker set on `window` survives), and
reloads by itself when the generation ends, so the sections (or the reason and Retry) appear.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from healthcare.models import AIProposedTreatmentPlan

from .browser import launched_chromium
from .factories import AIProposedTreatmentPlanFactory

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GS = AIProposedTreatmentPlan.GenerationStatus


@pytest.fixture
def browser_page(live_server, doctor_user, client, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # itself are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client.force_login(doctor_user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    with launched_chromium() as browser:
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text  # the favicon's 404
                and errors.append(m.text)
            ),
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        page.goto("about:blank")  # stop the polling before the live server's data goes away
        assert not errors, f"browser console errors (CSP?): {errors}"


@pytest.mark.django_db(transaction=True)
def test_the_page_streams_the_text_then_reloads_when_done(
    browser_page, live_server, doctor, patient
):
    proposal = AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        generation_status=GS.RUNNING,
        raw_response="",
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        completed_at=None,
    )
    rows = AIProposedTreatmentPlan.objects.filter(pk=proposal.pk)
    page = browser_page
    page.goto(live_server.url + reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    badge = page.locator("[data-testid=generation-status-badge]")
    stream = page.locator("[data-testid=generation-stream]")
    assert badge.inner_text() == "Running"
    page.evaluate("window.__notReloaded = true")

    # The worker saves the text so far: it appears without a reload, escaped (textContent).
    rows.update(raw_response='{"clinical_assessment": "<b>BP</b> high', heartbeat_at=timezone.now())
    expect(stream).to_contain_text("high")  # (no wait_for_function: CSP forbids eval, rightly)
    assert stream.inner_text() == "Clinical assessment\n<b>BP</b> high"
    assert page.locator("[data-testid=generation-stream] b").count() == 0
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator("[data-testid=generation-elapsed]")).to_contain_text(" s")

    # Done: the page reloads by itself and shows the proposal instead of the live panel.
    rows.update(generation_status=GS.COMPLETED, completed_at=timezone.now())
    expect(page.locator("[data-testid=generation-status-panel]")).to_have_count(0)
    page.wait_for_load_state()
    assert page.evaluate("window.__notReloaded") is None


@pytest.mark.django_db(transaction=True)
def test_a_failure_shows_the_reason_and_retry(browser_page, live_server, doctor, patient):
    proposal = AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        generation_status=GS.QUEUED,
        raw_response="",
        completed_at=None,
    )
    page = browser_page
    page.goto(live_server.url + reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    assert page.locator("[data-testid=generation-status-badge]").inner_text() == "Queued"
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        generation_status=GS.FAILED, failure_reason="The AI server (Ollama) cannot be reached."
    )
    expect(page.locator("[data-testid=retry-ai-proposal]")).to_be_visible()
    assert "cannot be reached" in page.inner_text("[data-testid=generation-failure-reason]")
    page.click("[data-testid=retry-ai-proposal]")
    page.wait_for_load_state()
    retry = AIProposedTreatmentPlan.objects.get(retry_of=proposal)
    assert page.url.endswith(reverse("doctor_view_ai_proposal", args=[retry.pk]))
    assert page.locator("[data-testid=generation-status-badge]").inner_text() == "Queued"
