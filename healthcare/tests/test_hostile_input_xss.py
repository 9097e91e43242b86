"""HTML and script anywhere in the data are shown escaped, on every page and in the admin
(issue 6, item 3).

Every text field of every row (patient and doctor names, the whole clinical record, the doctor's
notes, plan text, patient feedback, what the model wrote, failure reasons, safety flags, audit
changes, even usernames) is filled with markup, as if it came through an import or a hostile
model. Then every page of the site is rendered for each role, and every admin page for every
model: the raw markup never appears; its escaped form does.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import NoReverseMatch, reverse

from healthcare.models import (
    AIProposedTreatmentPlan,
    DoctorTreatmentPlan,
    Patient,
    Provider,
    TreatmentPlanAuditLog,
)

from . import factories as f
from .hardening import iter_url_patterns, make_ready_patient

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("xss")</script>'
IMG = "<img src=x onerror=alert(1)>"
MARKUP = f"{SCRIPT}{IMG}"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"


class _TagScanner(HTMLParser):
    """Finds what the markers would become if a page failed to escape them: a <script>
    without src, an <img src=x>, or any on...= event handler attribute on a real tag."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "img" and ("src", "x") in attrs:
            self.found.append("<img src=x>")
        handlers = sorted(n for n in names if n.startswith("on"))
        if handlers:
            self.found.append(f"<{tag} {handlers[0]}=...>")


def injected_tags(html: str) -> list[str]:
    scanner = _TagScanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


# Short enough for the narrow unique fields (MRN 32, NPI 10 is skipped).
SHORT = "<script>{}</script>"


def _hostile_value(field: models.Field, pk) -> str | None:
    limit = getattr(field, "max_length", None)
    if field.unique or (limit is not None and limit < len(MARKUP)):
        value = SHORT.format(pk)
        return value if limit is None or len(value) <= limit else None
    return MARKUP


def fill_with_markup(instance: models.Model) -> None:
    """Every free-text column of the row gets markup (straight to the database: no form or
    validator stands between an import, a script or a model's output and the table)."""
    values = {}
    for field in instance._meta.concrete_fields:
        if (
            field.primary_key
            or field.choices
            or not isinstance(field, models.CharField | models.TextField)
        ):
            continue
        if isinstance(field, models.EmailField | models.URLField | models.SlugField):
            continue
        if field.name in {"password", "task_id", "prompt_sha256", "response_sha256"}:
            continue
        value = _hostile_value(field, instance.pk)
        if value is not None:
            values[field.attname] = value
    type(instance)._base_manager.filter(pk=instance.pk).update(**values)


@pytest.fixture
def hostile_world(doctor, doctor_user, admin_profile):
    """A doctor, a patient with a login and a full record, proposals in every state, plans in
    every state, feedback and audit entries: all of it full of markup."""
    patient = make_ready_patient(doctor)
    profile = f.PatientProfileFactory(patient=patient)
    f.FamilyHistoryFactory(patient=patient)
    finished = f.AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    finished.mark_as_modified(MARKUP, by=doctor_user)
    failed = f.AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status="failed", error_type="ollama_busy"
    )
    incomplete = f.AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status="incomplete"
    )
    running = f.AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status="running"
    )
    for proposal in (finished, failed, incomplete, running):
        AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
            safety_flags=[{"code": "possible_prompt_injection", "message": MARKUP}],
            input_snapshot={"note": MARKUP, MARKUP: MARKUP},
        )
    active = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor, ai_proposal=finished)
    active.publish_to_patient(by=doctor_user)
    active.add_patient_feedback(MARKUP, by=profile.user)
    draft = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    TreatmentPlanAuditLog.record(
        TreatmentPlanAuditLog.Action.PLAN_EDITED,
        actor=doctor_user,
        plan=draft,
        changes={"assessment": [MARKUP, MARKUP], MARKUP: MARKUP},
    )
    # Now the markup goes into every text column of every row.
    for model in (
        Patient,
        Provider,
        AIProposedTreatmentPlan,
        DoctorTreatmentPlan,
        *_record_models(),
    ):
        for row in model._base_manager.all():
            fill_with_markup(row)
    for user in get_user_model().objects.all():
        get_user_model().objects.filter(pk=user.pk).update(first_name=MARKUP, last_name=MARKUP)
    return {
        "patient": patient,
        "patient_user": profile.user,
        "proposals": [finished, failed, incomplete, running],
        "plans": [active, draft],
    }


def _record_models():
    from healthcare import models as m

    return [
        m.Encounter,
        m.VitalSign,
        m.Diagnosis,
        m.LabTest,
        m.MedicalHistory,
        m.FamilyHistory,
        m.SocialHistory,
        m.Allergy,
        m.Prescription,
        m.PlanFeedback,
        m.UserProfile,
    ]


def _assert_escaped(response, where: str) -> None:
    assert response.status_code == 200, f"{where}: {response.status_code}"
    if "json" in response.get("Content-Type", ""):
        return  # JSON is data for the page's script (textContent), not markup
    found = injected_tags(response.content.decode())
    assert found == [], f"{where}: markup became tags: {found[:3]}"


def _app_urls(world) -> list[tuple[str, str]]:
    """(name, url) for every GET page of the site, with this world's objects."""
    ids = {
        "patient_id": [world["patient"].pk],
        "proposal_id": [p.pk for p in world["proposals"]],
        "plan_id": [p.pk for p in world["plans"]],
    }
    urls = []
    for name, pattern in iter_url_patterns():
        if name.startswith("admin:") or name in {"password_reset_confirm", "logout"}:
            continue
        keys = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        combos = [{}]
        for key in keys:
            combos = [{**c, key: value} for c in combos for value in ids[key]]
        for kwargs in combos:
            try:
                urls.append((name, reverse(name, kwargs=kwargs)))
            except NoReverseMatch:  # pragma: no cover - a new kind of argument
                pytest.fail(f"cannot fill the URL {name} ({pattern})")
    return urls


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_every_page_escapes_markup(role, hostile_world, client, doctor_user):
    user = doctor_user if role == "doctor" else hostile_world["patient_user"]
    client.force_login(user)
    seen_escaped = False
    for name, url in _app_urls(hostile_world):
        response = client.get(url)
        if response.status_code != 200:
            continue  # not this role's page (403/404/405): the access matrix covers those
        _assert_escaped(response, f"{role} {name} {url}")
        seen_escaped |= ESCAPED_SCRIPT in response.content.decode()
        # Reflected input: the same page with markup in its query string.
        reflected = client.get(url, {"q": MARKUP, "status": MARKUP, "page": MARKUP})
        if reflected.status_code == 200:
            _assert_escaped(reflected, f"{role} {name} ?q=markup")
    assert seen_escaped, "no page showed the (escaped) data: the test would prove nothing"


def test_key_pages_show_the_data_escaped(hostile_world, client, doctor_user):
    client.force_login(doctor_user)
    proposal = hostile_world["proposals"][0]
    page = client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    _assert_escaped(page, "proposal")
    assert page.content.decode().count(ESCAPED_SCRIPT) >= 6  # the sections, notes, flags
    chart = client.get(reverse("doctor_patient_chart", args=[hostile_world["patient"].pk]))
    _assert_escaped(chart, "chart")
    assert ESCAPED_SCRIPT in chart.content.decode()
    client.force_login(hostile_world["patient_user"])
    plan = client.get(reverse("patient_view_treatment_plan", args=[hostile_world["plans"][0].pk]))
    _assert_escaped(plan, "patient plan")
    assert ESCAPED_SCRIPT in plan.content.decode()


def test_invalid_forms_echo_input_escaped(hostile_world, client, doctor_user):
    """A form re-rendered with its errors shows what was typed, escaped."""
    client.force_login(doctor_user)
    proposal = hostile_world["proposals"][0]
    review = client.post(
        reverse("doctor_review_ai_proposal", args=[proposal.pk]),
        {"decision": MARKUP, "doctor_notes": MARKUP},
    )
    _assert_escaped(review, "review form")
    plan_form = client.post(
        reverse("doctor_create_treatment_plan", args=[hostile_world["patient"].pk]),
        {"plan_title": MARKUP * 20, "assessment": MARKUP, "plan_start_date": MARKUP},
    )
    _assert_escaped(plan_form, "plan form")
    assert ESCAPED_SCRIPT in plan_form.content.decode()
    client.force_login(hostile_world["patient_user"])
    plan = hostile_world["plans"][0]
    feedback = client.post(
        reverse("patient_send_feedback", args=[plan.pk]), {"feedback_text": MARKUP * 1000}
    )
    assert feedback.status_code in (200, 302)
    if feedback.status_code == 200:
        _assert_escaped(feedback, "feedback form")


def _admin_urls(world) -> list[tuple[str, str]]:
    urls = [("admin:index", reverse("admin:index"))]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append((f"{info} changelist", reverse("admin:{}_{}_changelist".format(*info))))
        urls.append(
            (
                f"{info} search",
                reverse("admin:{}_{}_changelist".format(*info)) + "?q=%3Cscript%3E",
            )
        )
        for pk in model._base_manager.values_list("pk", flat=True)[:5]:
            for view in ("change", "history"):
                urls.append(
                    (f"{info} {view} {pk}", reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[pk]))
                )
        if model_admin.has_add_permission(_FakeRequest(world["admin_user"])):
            urls.append((f"{info} add", reverse("admin:{}_{}_add".format(*info))))
    return urls


class _FakeRequest:
    def __init__(self, user):
        self.user = user
        self.method = "GET"
        self.GET = {}


def test_every_admin_page_escapes_markup(hostile_world, staff_client, admin_profile):
    hostile_world["admin_user"] = admin_profile.user
    get_user_model().objects.filter(pk=admin_profile.user.pk).update(first_name=MARKUP)
    seen_escaped = False
    for name, url in _admin_urls(hostile_world):
        response = staff_client.get(url)
        _assert_escaped(response, f"admin {name} {url}")
        seen_escaped |= "&lt;script&gt;" in response.content.decode()
    assert seen_escaped


def test_the_scanner_finds_unescaped_markup():
    assert injected_tags(f"<p>{MARKUP}</p>") == [
        "<script> without src",
        "<img src=x>",
        "<img onerror=...>",
    ]
    from django.utils.html import escape

    assert injected_tags(f'<p>{escape(MARKUP)}</p><input value="{escape(MARKUP)}">') == []
    assert injected_tags('<script src="/static/app.js"></script>') == []


def test_static_js_never_writes_html():
    """The pages' scripts put text with textContent, never as HTML (DOM-based XSS)."""
    from pathlib import Path

    from django.conf import settings

    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for path in (Path(settings.BASE_DIR) / "static" / "js").rglob("*.js")
        if sinks.search(path.read_text())
    ]
    assert offenders == []
