"""The admin: every model is there and its pages load; history stays read-only (invariant 7)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from healthcare.admin import AIProposedTreatmentPlanAdmin
from healthcare.models import (
    AIProposedTreatmentPlan,
    Allergy,
    Patient,
    PlanFeedback,
    TreatmentPlanAuditLog,
)

from . import factories

pytestmark = pytest.mark.django_db

User = get_user_model()
HEALTHCARE_MODELS = list(apps.get_app_config("healthcare").get_models())
ADMIN_MODELS = [*HEALTHCARE_MODELS, User]

FACTORY_OF = {
    "UserProfile": factories.DoctorProfileFactory,
    "Provider": factories.ProviderFactory,
    "Patient": factories.PatientFactory,
    "Encounter": factories.EncounterFactory,
    "VitalSign": factories.VitalSignFactory,
    "Diagnosis": factories.DiagnosisFactory,
    "LabTest": factories.LabTestFactory,
    "MedicalHistory": factories.MedicalHistoryFactory,
    "FamilyHistory": factories.FamilyHistoryFactory,
    "SocialHistory": factories.SocialHistoryFactory,
    "Allergy": factories.AllergyFactory,
    "Prescription": factories.PrescriptionFactory,
    "AIProposedTreatmentPlan": factories.AIProposedTreatmentPlanFactory,
    "DoctorTreatmentPlan": factories.DoctorTreatmentPlanFactory,
    "PlanFeedback": factories.PlanFeedbackFactory,
    "TreatmentPlanAuditLog": factories.TreatmentPlanAuditLogFactory,
    "User": factories.UserFactory,
}


def url(model, view: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """The POST data of an admin change form as the browser would send it unchanged."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            data[key] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.initial_forms:
            add(form)
    return data


@pytest.fixture
def superuser_client(staff_client):
    return staff_client


@pytest.fixture
def one_of_each(db):
    return {name: factory() for name, factory in FACTORY_OF.items()}


def test_every_model_is_registered():
    missing = [m.__name__ for m in ADMIN_MODELS if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_search_load(superuser_client, one_of_each, model):
    assert superuser_client.get(url(model, "changelist")).status_code == 200
    assert superuser_client.get(url(model, "changelist"), {"q": "a 1"}).status_code == 200


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_change_page_loads(superuser_client, one_of_each, model):
    obj = one_of_each[model.__name__]
    assert superuser_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_add_page_loads_unless_adding_is_refused(superuser_client, model, rf, admin_profile):
    request = rf.get("/")
    request.user = admin_profile.user
    may_add = admin.site._registry[model].has_add_permission(request)
    expected = 200 if may_add else 403
    assert superuser_client.get(url(model, "add")).status_code == expected


def test_list_pages_do_not_query_per_row(superuser_client, django_assert_max_num_queries):
    for _ in range(3):
        factories.VitalSignFactory()
        factories.TreatmentPlanAuditLogFactory()
    for model in (Patient, AIProposedTreatmentPlan, TreatmentPlanAuditLog, Allergy):
        superuser_client.get(url(model, "changelist"))  # warm the content-type cache
    small = {}
    models = [m for m in HEALTHCARE_MODELS if m.__name__ in FACTORY_OF]
    for model in models:
        with CaptureQueriesContext(connection) as queries:
            superuser_client.get(url(model, "changelist"))
        small[model] = len(queries)
    for _ in range(5):
        for name, factory in FACTORY_OF.items():
            if name != "User":
                factory()
    for model in models:
        with django_assert_max_num_queries(small[model]):
            superuser_client.get(url(model, "changelist"))


# --- The audit trail is view-only ----------------------------------------------------------------
def test_audit_log_has_no_add_change_or_delete(superuser_client, rf, admin_profile):
    entry = factories.TreatmentPlanAuditLogFactory()
    model_admin = admin.site._registry[TreatmentPlanAuditLog]
    request = rf.get("/")
    request.user = admin_profile.user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert model_admin.has_view_permission(request, entry)

    assert superuser_client.get(url(TreatmentPlanAuditLog, "add")).status_code == 403
    page = superuser_client.get(url(TreatmentPlanAuditLog, "change", entry.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    posted = superuser_client.post(
        url(TreatmentPlanAuditLog, "change", entry.pk), {"action": "plan_cancelled"}
    )
    assert posted.status_code == 403
    assert superuser_client.get(url(TreatmentPlanAuditLog, "delete", entry.pk)).status_code == 403
    listing = superuser_client.get(url(TreatmentPlanAuditLog, "changelist"))
    assert b"delete_selected" not in listing.content
    entry.refresh_from_db()
    assert entry.action == TreatmentPlanAuditLog.Action.PLAN_CREATED


# --- AI proposals: what the model wrote is read-only -------------------------------------------
PROVENANCE = [
    "proposed_treatment",
    "clinical_assessment",
    "treatment_goals",
    "medications_suggested",
    "lifestyle_recommendations",
    "follow_up_recommendations",
    "warnings_and_precautions",
    "raw_response",
    "input_snapshot",
    "prompt_sha256",
    "response_sha256",
    "model_digest",
    "ai_model_name",
    "prompt_template_version",
    "generation_options",
    "prompt_tokens",
    "completion_tokens",
    "total_duration_ns",
    "eval_duration_ns",
    "done_reason",
    "generation_status",
    "generation_time_seconds",
    "safety_flags",
    "patient",
    "provider",
]


def test_proposal_provenance_is_read_only(rf, admin_profile):
    request = rf.get("/")
    request.user = admin_profile.user
    model_admin = admin.site._registry[AIProposedTreatmentPlan]
    readonly = set(model_admin.get_readonly_fields(request, AIProposedTreatmentPlan()))
    assert set(PROVENANCE) <= readonly
    editable = {f.name for f in AIProposedTreatmentPlan._meta.concrete_fields} - readonly
    assert (
        editable
        == set(AIProposedTreatmentPlanAdmin.EDITABLE_FIELDS)
        == {
            "status",
            "doctor_notes",
        }
    )


def test_admin_corrects_review_but_not_what_the_model_wrote(superuser_client, admin_profile):
    proposal = factories.AIProposedTreatmentPlanFactory(raw_response="original text")
    change_url = url(AIProposedTreatmentPlan, "change", proposal.pk)
    data = form_data(superuser_client.get(change_url))
    data.update(
        status="rejected",
        doctor_notes="Corrected by admin",
        proposed_treatment="REWRITTEN",
        raw_response="REWRITTEN",
        prompt_sha256="0" * 64,
    )
    response = superuser_client.post(change_url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    proposal.refresh_from_db()
    assert proposal.status == "rejected"
    assert proposal.doctor_notes == "Corrected by admin"
    assert proposal.raw_response == "original text"
    assert proposal.proposed_treatment.startswith("ASSESSMENT")
    assert proposal.prompt_sha256 == ""
    entry = TreatmentPlanAuditLog.objects.get(proposal=proposal)
    assert entry.actor == admin_profile.user
    assert entry.changes["via"] == "admin"
    assert entry.changes["status"] == ["pending", "rejected"]


def test_proposals_cannot_be_added_or_deleted(superuser_client):
    proposal = factories.AIProposedTreatmentPlanFactory()
    assert superuser_client.get(url(AIProposedTreatmentPlan, "add")).status_code == 403
    delete_url = url(AIProposedTreatmentPlan, "delete", proposal.pk)
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).exists()


# --- Patient feedback: only "read by doctor" changes ---------------------------------------------
def test_feedback_message_read_only_but_read_mark_editable(superuser_client):
    feedback = factories.PlanFeedbackFactory(message="When do I take it?")
    change_url = url(PlanFeedback, "change", feedback.pk)
    data = form_data(superuser_client.get(change_url))
    data.update(
        {
            "message": "REWRITTEN",
            "read_by_doctor_at_0": "2026-01-02",
            "read_by_doctor_at_1": "10:00:00",
        }
    )
    assert superuser_client.post(change_url, data).status_code == 302
    feedback.refresh_from_db()
    assert feedback.message == "When do I take it?"
    assert feedback.read_by_doctor_at is not None
    assert superuser_client.get(url(PlanFeedback, "add")).status_code == 403


# --- No patient identifiers in the admin log ----------------------------------------------
def test_admin_log_names_objects_by_kind_and_id_only(superuser_client):
    patient = factories.PatientFactory(first_name="Zelda", last_name="Quintero", mrn="IH-777")
    change_url = url(Patient, "change", patient.pk)
    data = form_data(superuser_client.get(change_url))
    data.update(
        {
            "phone": "555-0199",
            "allergies-TOTAL_FORMS": "1",
            "allergies-0-allergen": "Penicillin",
            "allergies-0-allergy_type": "drug",
            "allergies-0-severity": "severe",
            "allergies-0-is_active": "on",
        }
    )
    response = superuser_client.post(change_url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    allergy = Allergy.objects.get(patient=patient)

    entry = LogEntry.objects.get(object_id=str(patient.pk), content_type__model="patient")
    assert entry.object_repr == f"patient #{patient.pk}"
    assert f"allergy #{allergy.pk}" in entry.change_message
    for identifier in ("Zelda", "Quintero", "IH-777", "Penicillin"):
        assert identifier not in entry.object_repr
        assert identifier not in entry.change_message

    delete_url = url(Allergy, "delete", allergy.pk)
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 302
    deletion = LogEntry.objects.get(content_type__model="allergy")
    assert deletion.object_repr == f"allergy #{allergy.pk}"


def test_user_admin_shows_profile_inline(superuser_client, doctor_user):
    page = superuser_client.get(url(User, "change", doctor_user.pk))
    assert page.status_code == 200
    assert b"profile-0-role" in page.content or b"profile-TOTAL_FORMS" in page.content
