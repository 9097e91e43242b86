"""Every form, fed anything, through its view (issue 6, item 3): no 500, no crash, errors shown,
oversized input refused with a message.

FORM_CASES says how to reach each form; a form class added anywhere in healthcare.forms or
healthcare.views without a case here fails `test_every_form_has_a_case`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field

import pytest
from django import forms
from django.conf import settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from healthcare.models import DoctorTreatmentPlan

from . import factories as f
from .hardening import make_ready_patient

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script>'
OK_STATUSES = {200, 302, 400, 403, 404, 405, 429}
ERROR_MARKERS = ("invalid-feedback", "alert-danger", "errorlist", "is-invalid")

hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            MARKUP,
            "\x00",
            "a\x00b",
            "9" * 400,
            "-1",
            "2026-02-30",
            "99999-01-01",
            "1e309",
            "NaN",
            "' OR 1=1 --",
            "../../etc/passwd",
            "%00",
            "\u202e\ufeff",
            "x" * 6000,
            "ü" * 2500,
        ]
    ),
)


@dataclass
class FormCase:
    """How a form is reached: as which user, by which method, at which URL, with what fields."""

    user: str  # "doctor" or "patient"
    method: str  # "get" or "post"
    url: str  # URL name
    args: tuple[str, ...] = ()  # names of world objects for the URL
    fields: tuple[str, ...] = ()
    must_show_errors: bool = True  # a re-rendered POST shows why
    extra: dict = field(default_factory=dict)


PLAN_FIELDS = (*DoctorTreatmentPlan.CONTENT_FIELDS, "encounter", "publish")
FORM_CASES: dict[str, list[FormCase]] = {
    "ProposalReviewForm": [
        FormCase(
            "doctor",
            "post",
            "doctor_review_ai_proposal",
            ("proposal",),
            ("decision", "doctor_notes"),
        )
    ],
    "ProposalFilterForm": [
        FormCase(
            "doctor", "get", "doctor_ai_proposals", (), ("status", "generation_status", "page")
        )
    ],
    "TreatmentPlanForm": [
        FormCase("doctor", "post", "doctor_create_treatment_plan", ("patient",), PLAN_FIELDS),
        FormCase("doctor", "post", "doctor_edit_treatment_plan", ("draft",), PLAN_FIELDS),
        FormCase(
            "doctor",
            "post",
            "doctor_create_treatment_plan_from_proposal",
            ("patient", "proposal"),
            PLAN_FIELDS,
        ),
    ],
    "PlanFilterForm": [
        FormCase("doctor", "get", "doctor_treatment_plans", (), ("status", "q", "page"))
    ],
    "PatientFeedbackForm": [
        FormCase("patient", "post", "patient_send_feedback", ("plan",), ("feedback_text",))
    ],
    "AcknowledgePlanForm": [
        FormCase(
            "patient",
            "post",
            "patient_acknowledge_treatment_plan",
            ("plan",),
            ("confirm",),
            must_show_errors=False,  # one button: any input acknowledges or is ignored
        )
    ],
    "GenerateProposalForm": [
        FormCase(
            "doctor",
            "post",
            "doctor_generate_ai_proposal",
            ("patient",),
            ("anything", "csrfmiddlewaretoken"),
            must_show_errors=False,  # no fields: any input starts (or joins) a generation
        )
    ],
    "PatientSearchForm": [FormCase("doctor", "get", "doctor_patients_list", (), ("q", "page"))],
}
# Django's own account forms, reached through django.contrib.auth.urls.
AUTH_CASES = [
    FormCase("anonymous", "post", "login", (), ("username", "password", "next")),
    FormCase(
        "doctor",
        "post",
        "password_change",
        (),
        ("old_password", "new_password1", "new_password2"),
    ),
    FormCase("anonymous", "post", "password_reset", (), ("email",), must_show_errors=False),
]


def _form_classes() -> dict[str, type]:
    """Every Form class defined in healthcare.forms.* and healthcare.views.*."""
    found = {}
    for package_name in ("healthcare.forms", "healthcare.views"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for name, obj in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(obj, forms.BaseForm)
                    and obj.__module__ == module.__name__
                    and not name.startswith("_")
                ):
                    found[name] = obj
    return found


def test_every_form_has_a_case():
    missing = sorted(set(_form_classes()) - set(FORM_CASES))
    assert missing == [], f"forms without a hostile-input case in FORM_CASES: {missing}"


def test_every_case_names_the_forms_fields():
    classes = _form_classes()
    for name, cases in FORM_CASES.items():
        form_fields = set(classes[name].base_fields)
        for case in cases:
            assert form_fields <= set(case.fields) | {"page"}, (
                name,
                form_fields - set(case.fields),
            )


@pytest.fixture
def world(doctor, doctor_user, db):
    patient = make_ready_patient(doctor)
    profile = f.PatientProfileFactory(patient=patient)
    proposal = f.AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    reviewed = f.AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    reviewed.mark_as_accepted("fine", by=doctor_user)
    plan = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    plan.publish_to_patient(by=doctor_user)
    draft = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    return {
        "doctor": doctor_user,
        "patient_user": profile.user,
        "patient": patient.pk,
        "proposal": proposal.pk,
        "reviewed": reviewed.pk,
        "plan": plan.pk,
        "draft": draft.pk,
    }


def _url(case: FormCase, world: dict) -> str:
    args = [
        world["reviewed" if a == "proposal" and "from_proposal" in case.url else a]
        for a in case.args
    ]
    return reverse(case.url, args=args)


def _client_for(case: FormCase, world: dict, client):
    client.logout()
    if case.user == "doctor":
        client.force_login(world["doctor"])
    elif case.user == "patient":
        client.force_login(world["patient_user"])
    return client


def _submit(client, case: FormCase, url: str, data: dict):
    response = getattr(client, case.method)(url, data)
    assert response.status_code in OK_STATUSES, (case.url, response.status_code)
    # An empty POST is not required to show errors: views written `Form(request.POST or None)`
    # treat it as a first visit (a browser always sends the fields; reported as a nit).
    sent = any(value != [] for value in data.values())
    if case.method == "post" and case.must_show_errors and sent and response.status_code == 200:
        html = response.content.decode()
        assert any(marker in html for marker in ERROR_MARKERS), (
            f"{case.url}: the form came back without saying what is wrong"
        )
    return response


ALL_CASES = [(name, i, case) for name, cases in FORM_CASES.items() for i, case in enumerate(cases)]
ALL_CASES += [(f"auth:{case.url}", 0, case) for case in AUTH_CASES]


@pytest.mark.parametrize(
    ("name", "index", "case"), ALL_CASES, ids=[f"{n}-{i}" for n, i, _ in ALL_CASES]
)
@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_input_gives_no_500(name, index, case, world, client, data):
    values = {
        key: data.draw(st.one_of(hostile_text, st.lists(hostile_text, max_size=3)), label=key)
        for key in data.draw(
            st.lists(st.sampled_from(case.fields), unique=True, max_size=len(case.fields)),
            label="fields",
        )
    }
    client = _client_for(case, world, client)
    _submit(client, case, _url(case, world), values)


# --- Oversized input ---------------------------------------------------------------------------
OVERSIZE = [
    (
        "doctor_review_ai_proposal",
        ("proposal",),
        {"decision": "accepted", "doctor_notes": "n" * 5001},
        "doctor_notes",
    ),
    (
        "doctor_create_treatment_plan",
        ("patient",),
        {"plan_title": "t" * 201, "assessment": "a", "plan_start_date": "2026-01-05"},
        "plan_title",
    ),
    (
        "doctor_create_treatment_plan",
        ("patient",),
        {"plan_title": "t", "assessment": "a" * 5001, "plan_start_date": "2026-01-05"},
        "assessment",
    ),
    (
        "patient_send_feedback",
        ("plan",),
        {"feedback_text": "f" * (DoctorTreatmentPlan.FEEDBACK_MAX_LENGTH + 1)},
        "feedback_text",
    ),
]


@pytest.mark.parametrize(("url_name", "args", "data", "field_name"), OVERSIZE)
def test_oversized_fields_are_refused_with_a_message(
    url_name, args, data, field_name, world, client
):
    user = "patient" if url_name.startswith("patient") else "doctor"
    case = FormCase(user, "post", url_name, args, tuple(data))
    client = _client_for(case, world, client)
    response = client.post(_url(case, world), data, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "at most" in html or "limited to" in html or "Ensure this value" in html, html[:3000]
    # Nothing oversized was stored.
    from healthcare.models import AIProposedTreatmentPlan, PlanFeedback

    assert not PlanFeedback.objects.filter(message__startswith="f" * 100).exists()
    assert not DoctorTreatmentPlan.objects.filter(plan_title="t" * 201).exists()
    assert not AIProposedTreatmentPlan.objects.filter(doctor_notes__startswith="n" * 100).exists()


def test_oversized_search_is_refused_without_error_page(world, client):
    client.force_login(world["doctor"])
    response = client.get(reverse("doctor_patients_list"), {"q": "q" * 10_000})
    assert response.status_code == 200


def test_a_request_body_over_the_upload_limit_is_a_400(world, client):
    client.force_login(world["patient_user"])
    too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(
        reverse("patient_send_feedback", args=[world["plan"]]), {"feedback_text": too_big}
    )
    assert response.status_code == 400


def test_too_many_fields_is_a_400(world, client):
    client.force_login(world["doctor"])
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10)}
    response = client.post(reverse("doctor_review_ai_proposal", args=[world["proposal"]]), fields)
    assert response.status_code == 400
