"""The access-control matrix (issue 6, item 1), built from the URL configuration.

Every named URL pattern is requested by six users (anonymous, the patient, another patient,
the patient's doctor, a doctor without a care relationship, an administrator), with objects of
each owner (the doctor's and patient's own, and the other doctor's and other patient's), with
GET and POST. Every cell has an expected outcome in EXPECTATIONS (by URL name); a URL pattern
without an entry fails `test_every_url_has_expectations`. No response to a patient (or to
anyone not logged in) contains proposal text or draft plan text.

Outcomes: 200; LOGIN (302 to the login page); ADMIN_LOGIN (302 to the admin's login page);
REDIRECT (302 elsewhere); 400, 403, 404, 405.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.urls import reverse

from healthcare.models import DoctorTreatmentPlan

from . import factories as f
from .hardening import iter_url_patterns

pytestmark = pytest.mark.django_db

LOGIN, ADMIN_LOGIN, REDIRECT = "login", "admin-login", "redirect"
ROLES = ("anonymous", "patient", "other_patient", "doctor", "other_doctor", "admin")
OWNERS = ("own", "other")  # objects of doctor/patient, or of other_doctor/other_patient
METHODS = ("get", "post")

PROPOSAL_MARKER = "QZV-PROPOSAL-TEXT"
DRAFT_MARKER = "QZV-DRAFT-PLAN-TEXT"
ACTIVE_MARKER = "QZV-PUBLISHED-PLAN-TEXT"

# Which role owns the objects of each owner; the doctor side and the patient side.
OWNER_DOCTOR = {"own": "doctor", "other": "other_doctor"}
OWNER_PATIENT = {"own": "patient", "other": "other_patient"}


# --- The expectations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """Outcomes for one URL. `objects`: which world object fills each URL argument."""

    objects: dict[str, str]
    expect: dict[tuple[str, str, str], object]  # (role, owner, method) -> outcome


def _cells(objects) -> list[tuple[str, str, str]]:
    owners = OWNERS if objects else ("-",)
    return [(r, o, m) for r in ROLES for o in owners for m in METHODS]


def doctor_view(objects=None, *, get=200, post=200, outsider=404):
    """Behind @login_required + @require_role(DOCTOR): anonymous to login, patients and admins
    403, the owning doctor `get`/`post`, another doctor `outsider` (404: never data)."""
    objects = objects or {}
    expect = {}
    for role, owner, method in _cells(objects):
        if role == "anonymous":
            outcome = LOGIN
        elif role in ("patient", "other_patient", "admin"):
            outcome = 403
        elif owner == "-" or OWNER_DOCTOR[owner] == role:
            outcome = get if method == "get" else post
        else:
            # The method check comes before the object lookup: 405 tells nothing.
            mine = get if method == "get" else post
            outcome = 405 if mine == 405 else outsider
        expect[(role, owner, method)] = outcome
    return Rule(objects, expect)


def patient_view(objects=None, *, get=200, post=200):
    objects = objects or {}
    expect = {}
    for role, owner, method in _cells(objects):
        if role == "anonymous":
            outcome = LOGIN
        elif role in ("doctor", "other_doctor", "admin"):
            outcome = 403
        elif owner == "-" or OWNER_PATIENT[owner] == role:
            outcome = get if method == "get" else post
        else:
            mine = get if method == "get" else post
            outcome = 405 if mine == 405 else 404
        expect[(role, owner, method)] = outcome
    return Rule(objects, expect)


def everyone(get=200, post=200, anonymous=None):
    """Pages of django.contrib.auth: the same for every role (anonymous may differ)."""
    expect = {}
    for role, owner, method in _cells({}):
        outcome = get if method == "get" else post
        if role == "anonymous" and anonymous is not None:
            outcome = anonymous[method]
        expect[(role, owner, method)] = outcome
    return Rule({}, expect)


def logged_in(get=200, post=200):
    return everyone(get, post, anonymous={"get": LOGIN, "post": LOGIN})


# A read-only page also answers POST by rendering (CSRF still applies); POST-only actions
# answer GET with 405 for their own role. Doctor objects: "patient", "proposal" (a finished,
# pending one), "reviewed" (accepted), "failed", "draft", "active" plans.
EXPECTATIONS: dict[str, Rule] = {
    # django.contrib.auth
    "login": everyone(get=200, post=200),
    "logout": everyone(get=405, post=LOGIN),
    "password_change": logged_in(get=200, post=200),
    "password_change_done": logged_in(get=200, post=405),
    "password_reset": everyone(get=200, post=200),
    "password_reset_done": everyone(get=200, post=405),
    "password_reset_confirm": everyone(get=200, post=200),
    "password_reset_complete": everyone(get=200, post=405),
    # Landing page: each role to its dashboard.
    "home": Rule(
        {},
        {
            (role, "-", method): LOGIN if role == "anonymous" else REDIRECT
            for role in ROLES
            for method in METHODS
        },
    ),
    # Doctor
    "doctor_dashboard": doctor_view(),
    "doctor_patients_list": doctor_view(post=405),
    "doctor_patient_chart": doctor_view({"patient_id": "patient"}, post=405),
    "doctor_ai_proposals": doctor_view(),
    "doctor_view_ai_proposal": doctor_view({"proposal_id": "proposal"}),
    "doctor_review_ai_proposal": doctor_view({"proposal_id": "proposal"}, get=405, post=200),
    # The world's patients have a thin record: Generate is refused with the reason (200).
    "doctor_generate_ai_proposal": doctor_view({"patient_id": "patient"}, get=200, post=200),
    "doctor_ai_proposal_status": doctor_view({"proposal_id": "proposal"}, post=405),
    "doctor_retry_ai_proposal": doctor_view({"proposal_id": "failed"}, get=405, post=REDIRECT),
    "doctor_treatment_plans": doctor_view(),
    "doctor_create_treatment_plan": doctor_view({"patient_id": "patient"}),
    "doctor_create_treatment_plan_from_proposal": doctor_view(
        {"patient_id": "patient", "proposal_id": "reviewed"}
    ),
    "doctor_view_treatment_plan": doctor_view({"plan_id": "active"}),
    "doctor_edit_treatment_plan": doctor_view({"plan_id": "draft"}),
    "doctor_publish_treatment_plan": doctor_view({"plan_id": "draft"}, get=405, post=REDIRECT),
    "doctor_revise_treatment_plan": doctor_view({"plan_id": "active"}, get=405, post=REDIRECT),
    "doctor_complete_treatment_plan": doctor_view({"plan_id": "active"}, get=405, post=REDIRECT),
    "doctor_cancel_treatment_plan": doctor_view({"plan_id": "draft"}, get=405, post=REDIRECT),
    # Patient
    "patient_dashboard": patient_view(),
    "patient_treatment_plans": patient_view(),
    "patient_view_treatment_plan": patient_view({"plan_id": "active"}, get=200, post=200),
    "patient_acknowledge_treatment_plan": patient_view(
        {"plan_id": "active"}, get=405, post=REDIRECT
    ),
    "patient_send_feedback": patient_view({"plan_id": "active"}, get=405, post=200),
}
# URL arguments that are not objects (a reset link with a bad token is fine for everyone).
FIXED_ARGS = {"password_reset_confirm": {"uidb64": "MQ", "token": "set-password"}}


# --- The world ----------------------------------------------------------------------------------
def _objects_for(doctor, patient, doctor_user):
    proposal = f.AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        clinical_assessment=f"{PROPOSAL_MARKER} assessment",
        medications_suggested=f"{PROPOSAL_MARKER} medications",
        proposed_treatment=f"{PROPOSAL_MARKER} full text",
        raw_response=f"{PROPOSAL_MARKER} raw",
    )
    reviewed = f.AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        clinical_assessment=f"{PROPOSAL_MARKER} reviewed",
        proposed_treatment=f"{PROPOSAL_MARKER} reviewed full",
    )
    reviewed.mark_as_accepted(f"{PROPOSAL_MARKER} notes", by=doctor_user)
    failed = f.AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        generation_status="failed",
        failure_reason="The AI server is busy.",
        proposed_treatment="",
        clinical_assessment="",
    )
    active = f.DoctorTreatmentPlanFactory(
        patient=patient, provider=doctor, assessment=f"{ACTIVE_MARKER} assessment"
    )
    active.publish_to_patient(by=doctor_user)
    draft = f.DoctorTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        plan_title=f"{DRAFT_MARKER} title",
        assessment=f"{DRAFT_MARKER} assessment",
        medications=f"{DRAFT_MARKER} medications",
    )
    return {
        "patient": patient.pk,
        "proposal": proposal.pk,
        "reviewed": reviewed.pk,
        "failed": failed.pk,
        "active": active.pk,
        "draft": draft.pk,
    }


@pytest.fixture
def world(doctor, doctor_user, patient, patient_user, other_doctor, other_patient, admin_profile):
    return {
        "users": {
            "anonymous": None,
            "patient": patient_user,
            "other_patient": other_patient.user,
            "doctor": doctor_user,
            "other_doctor": other_doctor.user,
            "admin": admin_profile.user,
        },
        "objects": {
            "own": _objects_for(doctor, patient, doctor_user),
            "other": _objects_for(other_doctor, other_patient, other_doctor.user),
        },
    }


def _outcome(response) -> object:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if location.startswith(reverse("login")):
            return LOGIN
        return REDIRECT
    return response.status_code


def _url(name: str, rule: Rule, objects: dict | None) -> str:
    kwargs = dict(FIXED_ARGS.get(name, {}))
    for arg, key in rule.objects.items():
        kwargs[arg] = objects[key]
    return reverse(name, kwargs=kwargs)


def _order(cell) -> tuple:
    """Owners' POSTs last: they change state (publish, cancel, ...), nobody else's can."""
    role, owner, method = cell
    owns = owner == "-" or role in (OWNER_DOCTOR.get(owner), OWNER_PATIENT.get(owner))
    return (method == "post" and owns, method == "post")


NO_PATIENT_TEXT = (PROPOSAL_MARKER, DRAFT_MARKER)


def _check_no_leak(role: str, response) -> None:
    if role not in ("anonymous", "patient", "other_patient"):
        return
    body = response.content.decode(errors="replace")
    for marker in NO_PATIENT_TEXT:
        assert marker not in body, f"{role} received {marker}"


# --- The tests ------------------------------------------------------------------------------------
APP_URLS = sorted(name for name, _ in iter_url_patterns() if not name.startswith("admin:"))


def test_every_url_has_expectations():
    missing = sorted(set(APP_URLS) - set(EXPECTATIONS))
    assert missing == [], f"URLs without access expectations: {missing}"
    stale = sorted(set(EXPECTATIONS) - set(APP_URLS))
    assert stale == [], f"expectations for URLs that no longer exist: {stale}"
    for name, route in iter_url_patterns():
        if name in EXPECTATIONS:
            args = set(re.findall(r"<(?:\w+:)?(\w+)>", route))
            filled = set(EXPECTATIONS[name].objects) | set(FIXED_ARGS.get(name, {}))
            assert args == filled, f"{name}: the route takes {args}, the rule fills {filled}"


@pytest.mark.parametrize("name", APP_URLS)
def test_access_matrix(name, world, client):
    rule = EXPECTATIONS[name]
    failures = []
    for role, owner, method in sorted(_cells(rule.objects), key=_order):
        expected = rule.expect[(role, owner, method)]
        client.logout()
        user = world["users"][role]
        if user is not None:
            client.force_login(user)
        url = _url(name, rule, world["objects"].get(owner))
        response = getattr(client, method)(url)
        got = _outcome(response)
        if got != expected:
            failures.append(
                f"{role:13} {owner:5} {method.upper():4} {url}: {got}, expected {expected}"
            )
        _check_no_leak(role, response)
        _check_logout_link(role, response, url)
    assert failures == [], "\n".join(failures)


LOGOUT_FORM = re.compile(
    r'<form[^>]*method="post"[^>]*action="/(?:accounts|admin)/logout/"[^>]*>\s*'
    r'<input type="hidden" name="csrfmiddlewaretoken"'
)


def _check_logout_link(role: str, response, url: str) -> None:
    """Every page a logged-in user sees offers a logout (a POST form with its CSRF token)."""
    if role == "anonymous" or response.status_code != 200:
        return
    if "text/html" not in response.get("Content-Type", ""):
        return
    assert LOGOUT_FORM.search(response.content.decode()), f"no logout form on {url} for {role}"


def test_objects_of_two_owners_mixed_in_one_url(world, client):
    """A URL with two objects: the doctor's own patient with another doctor's proposal (and
    the other way round) gives no access either."""
    client.force_login(world["users"]["doctor"])
    own, other = world["objects"]["own"], world["objects"]["other"]
    name = "doctor_create_treatment_plan_from_proposal"
    for patient, proposal in [(own, other), (other, own)]:
        for method in METHODS:
            url = reverse(name, args=[patient["patient"], proposal["reviewed"]])
            assert getattr(client, method)(url).status_code == 404, (method, url)
    # Own patient, own proposal, but of another of this doctor's patients: refused with a reason.
    from healthcare.models import AIProposedTreatmentPlan

    second = f.PatientFactory(
        primary_doctor=AIProposedTreatmentPlan.objects.get(pk=own["reviewed"]).provider
    )
    response = client.post(reverse(name, args=[second.pk, own["reviewed"]]))
    assert response.status_code == 302
    assert response["Location"] == reverse("doctor_view_ai_proposal", args=[own["reviewed"]])
    assert not DoctorTreatmentPlan.objects.filter(patient=second).exists()


# --- The admin: staff only, read-only history ----------------------------------------------------
ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history")
# What an administrator may not do in the admin (invariant 7: history is not rewritten).
ADMIN_FORBIDDEN = {
    ("treatmentplanauditlog", "add"),
    ("treatmentplanauditlog", "delete"),
    ("aiproposedtreatmentplan", "add"),
    ("aiproposedtreatmentplan", "delete"),
    ("doctortreatmentplan", "delete"),
    ("planfeedback", "add"),
    ("planfeedback", "delete"),
    # Third-party records are written by their apps only.
    ("dbtaskresult", "add"),
    ("accessattempt", "add"),
    ("accesslog", "add"),
    ("accessfailurelog", "add"),
}
ADMIN_OTHER_URLS = {
    # name: (anonymous and non-staff outcome for GET, admin outcome for GET)
    "admin:index": (ADMIN_LOGIN, 200),
    "admin:login": (200, REDIRECT),
    "admin:logout": (REDIRECT, 405),  # POST only; non-staff are sent to the index
    "admin:password_change": (ADMIN_LOGIN, 200),
    "admin:password_change_done": (ADMIN_LOGIN, 200),
    "admin:jsi18n": (ADMIN_LOGIN, 200),
    "admin:autocomplete": (ADMIN_LOGIN, 403),
    "admin:app_list": (ADMIN_LOGIN, 200),
    "admin:view_on_site": (ADMIN_LOGIN, 404),
    "admin:auth_user_password_change": (ADMIN_LOGIN, 200),
}


def _admin_model_urls():
    for model in admin.site._registry:
        app, model_name = model._meta.app_label, model._meta.model_name
        for view in ADMIN_VIEWS:
            yield f"admin:{app}_{model_name}_{view}", model, view


def test_every_admin_url_has_expectations():
    model_urls = {name for name, _, _ in _admin_model_urls()}
    admin_names = {name for name, _ in iter_url_patterns() if name.startswith("admin:")}
    missing = sorted(admin_names - model_urls - set(ADMIN_OTHER_URLS) - {"admin:app_list"})
    assert missing == [], f"admin URLs without access expectations: {missing}"


@pytest.mark.parametrize("role", ["anonymous", "patient", "doctor", "other_doctor"])
def test_the_admin_is_closed_to_everyone_but_staff(role, world, client):
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    failures = []
    for name, model, view in _admin_model_urls():
        args = (
            []
            if view in ("changelist", "add")
            else [model._base_manager.values_list("pk", flat=True).first() or 1]
        )
        url = reverse(name, args=args)
        for method in METHODS:
            response = getattr(client, method)(url)
            if _outcome(response) != ADMIN_LOGIN:
                failures.append(f"{method.upper()} {url}: {_outcome(response)}")
            _check_no_leak("patient", response)  # never data, whoever asks
    for name, (outcome, _) in ADMIN_OTHER_URLS.items():
        url = _admin_other_url(name, world)
        got = _outcome(client.get(url))
        if name == "admin:login" and user is not None:
            outcome = 200  # a logged-in non-staff user is asked to log in as staff
        if got != outcome:
            failures.append(f"GET {url}: {got}, expected {outcome}")
    assert failures == [], "\n".join(failures)


def _admin_other_url(name: str, world) -> str:
    if name == "admin:app_list":
        return reverse(name, kwargs={"app_label": "healthcare"})
    if name == "admin:view_on_site":
        return reverse(name, kwargs={"content_type_id": 999_999, "object_id": 1})
    if name == "admin:auth_user_password_change":
        return reverse(name, args=[world["users"]["patient"].pk])
    return reverse(name)


def test_the_admin_lets_staff_read_but_not_rewrite_history(world, client):
    client.force_login(world["users"]["admin"])
    failures = []
    for name, model, view in _admin_model_urls():
        pk = model._base_manager.values_list("pk", flat=True).first()
        if pk is None and view not in ("changelist", "add"):
            continue
        url = reverse(name, args=[] if view in ("changelist", "add") else [pk])
        expected = 403 if (model._meta.model_name, view) in ADMIN_FORBIDDEN else 200
        got = _outcome(client.get(url))
        if got != expected:
            failures.append(f"GET {url}: {got}, expected {expected}")
    for name, (_, outcome) in ADMIN_OTHER_URLS.items():
        got = _outcome(client.get(_admin_other_url(name, world)))
        if got != outcome:
            failures.append(f"GET {name}: {got}, expected {outcome}")
    assert failures == [], "\n".join(failures)


def test_published_plan_text_does_reach_its_patient(world, client):
    """The leak check is not vacuous: the patient does see their published plan."""
    client.force_login(world["users"]["patient"])
    plan = DoctorTreatmentPlan.objects.get(pk=world["objects"]["own"]["active"])
    response = client.get(reverse("patient_view_treatment_plan", args=[plan.pk]))
    assert "QZV-PUBLISHED-PLAN-TEXT" in response.content.decode()
    doctor_page = client.get(
        reverse("doctor_view_ai_proposal", args=[world["objects"]["own"]["proposal"]])
    )
    assert doctor_page.status_code == 403


@pytest.mark.parametrize("role", ["anonymous", "patient", "doctor", "admin"])
def test_every_post_needs_a_csrf_token(role, world):
    """CSRF everywhere: a POST without the token is refused (403) on every URL, before the
    view runs, whoever sends it."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    failures = []
    for name in APP_URLS:
        rule = EXPECTATIONS[name]
        owner = "own" if rule.objects else None
        url = _url(name, rule, world["objects"].get(owner) if owner else None)
        status = client.post(url, {"anything": "x"}).status_code
        if status != 403:
            failures.append(f"POST {url}: {status}")
    for name, _model, view in _admin_model_urls():
        if view in ("changelist", "add"):
            url = reverse(name)
            status = client.post(url, {"anything": "x"}).status_code
            if status != 403:
                failures.append(f"POST {url}: {status}")
    assert failures == [], "\n".join(failures)
