"""Doctor pages for treatment plans: list, detail, create, edit and the lifecycle actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from healthcare.models import DoctorTreatmentPlan
from healthcare.models import TreatmentPlanAuditLog as Audit

from .factories import PatientFactory
from .workflow_helpers import (
    make_plan,
    make_proposal,
    make_published_plan,
    make_reviewed_proposal,
    plan_form_data,
)

pytestmark = pytest.mark.django_db

ACTIONS = [
    "doctor_publish_treatment_plan",
    "doctor_revise_treatment_plan",
    "doctor_complete_treatment_plan",
    "doctor_cancel_treatment_plan",
]


def create_url(patient, proposal=None):
    if proposal is None:
        return reverse("doctor_create_treatment_plan", args=[patient.pk])
    return reverse("doctor_create_treatment_plan_from_proposal", args=[patient.pk, proposal.pk])


def detail_url(plan):
    return reverse("doctor_view_treatment_plan", args=[plan.pk])


# --- List --------------------------------------------------------------------------------------
def test_list_counts_and_filters(doctor_client, doctor, patient, other_doctor):
    make_plan(patient, doctor)
    active = make_published_plan(patient, doctor, plan_title="Diabetes care")
    make_plan(PatientFactory(primary_doctor=other_doctor), other_doctor)
    response = doctor_client.get(reverse("doctor_treatment_plans"))
    assert response.status_code == 200
    assert response.context["draft_count"] == 1
    assert response.context["active_count"] == 1
    assert len(response.context["plans"]) == 2
    response = doctor_client.get(reverse("doctor_treatment_plans"), {"status": "active"})
    assert list(response.context["plans"]) == [active]
    response = doctor_client.get(reverse("doctor_treatment_plans"), {"q": "diabetes"})
    assert list(response.context["plans"]) == [active]


def test_list_shows_unread_feedback_per_plan(doctor_client, doctor, patient):
    from .factories import PlanFeedbackFactory

    with_two = make_published_plan(patient, doctor)
    with_none = make_published_plan(patient, doctor)
    PlanFeedbackFactory(plan=with_two)
    PlanFeedbackFactory(plan=with_two)
    PlanFeedbackFactory(plan=with_none, read_by_doctor_at=timezone.now())
    plans = {p.pk: p for p in doctor_client.get(reverse("doctor_treatment_plans")).context["plans"]}
    assert plans[with_two.pk].unread_feedback == 2
    assert plans[with_none.pk].unread_feedback == 0


def test_list_invalid_filter_shows_error(doctor_client, doctor, patient):
    make_plan(patient, doctor)
    response = doctor_client.get(reverse("doctor_treatment_plans"), {"status": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors["status"]


def test_list_paginated_with_bounded_queries(
    doctor_client, doctor, patient, django_assert_max_num_queries
):
    for index in range(40):
        plan = make_published_plan(patient, doctor) if index % 2 else make_plan(patient, doctor)
        if index % 4 == 1:
            plan.add_patient_feedback("Unread")
    with django_assert_max_num_queries(12):
        response = doctor_client.get(reverse("doctor_treatment_plans"))
    assert len(response.context["plans"]) == 20
    assert b"1 new feedback" in response.content


def test_list_anonymous_and_patient(client, patient_client):
    assert patient_client.get(reverse("doctor_treatment_plans")).status_code == 403
    patient_client.logout()
    assert client.get(reverse("doctor_treatment_plans")).status_code == 302


# --- Detail ------------------------------------------------------------------------------------
def test_detail_shows_plan_feedback_versions_and_marks_feedback_read(
    doctor_client, doctor, patient
):
    old = make_published_plan(patient, doctor)
    old.mark_patient_acknowledged()
    old.add_patient_feedback("Can I take it <b>with food</b>?")
    response = doctor_client.get(detail_url(old))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Can I take it &lt;b&gt;with food&lt;/b&gt;?" in body
    assert 'data-testid="audit-trail"' in body
    assert "Acknowledged by patient" in body
    assert 'data-testid="revise-plan"' in body
    assert old.feedback_messages.get().read_by_doctor_at is not None


def test_detail_of_superseded_version_links_to_successor(doctor_client, doctor, patient):
    old = make_published_plan(patient, doctor)
    new = make_plan(patient, doctor, previous_version=old, version=2)
    new.publish_to_patient()
    body = doctor_client.get(detail_url(old)).content.decode()
    assert 'data-testid="superseded-banner"' in body
    assert detail_url(new) in body
    body = doctor_client.get(detail_url(new)).content.decode()
    assert detail_url(old) in body


def test_detail_of_other_doctors_plan_is_404(doctor_client, other_doctor, patient):
    plan = make_plan(patient, other_doctor)
    assert doctor_client.get(detail_url(plan)).status_code == 404


def test_detail_anonymous_and_patient(client, patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert patient_client.get(detail_url(plan)).status_code == 403
    patient_client.logout()
    assert client.get(detail_url(plan)).status_code == 302


# --- Create ------------------------------------------------------------------------------------
def test_create_form_renders(doctor_client, patient):
    response = doctor_client.get(create_url(patient))
    assert response.status_code == 200
    assert b'data-testid="save-and-publish"' in response.content


def test_create_draft(doctor_client, doctor_user, doctor, patient):
    response = doctor_client.post(create_url(patient), plan_form_data())
    plan = DoctorTreatmentPlan.objects.get()
    assert response.status_code == 302
    assert response.url == detail_url(plan)
    assert plan.status == "draft"
    assert plan.provider == doctor
    assert plan.patient == patient
    assert Audit.objects.get(plan=plan).actor == doctor_user


def test_create_and_publish(doctor_client, patient):
    response = doctor_client.post(create_url(patient), plan_form_data(publish="1"), follow=True)
    plan = DoctorTreatmentPlan.objects.get()
    assert plan.status == "active"
    assert plan.is_visible_to_patient
    assert b"saved and published" in response.content


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"plan_title": ""}, "plan_title"),
        ({"assessment": ""}, "assessment"),
        ({"medications": "x" * 5001}, "medications"),
        ({"plan_end_date": "2000-01-01"}, "plan_end_date"),
        ({"plan_start_date": "1990-01-01"}, "plan_start_date"),
        ({"plan_start_date": "not a date"}, "plan_start_date"),
    ],
)
def test_create_invalid_form_rerendered_with_errors(doctor_client, patient, overrides, field):
    response = doctor_client.post(create_url(patient), plan_form_data(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert b"invalid-feedback" in response.content
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_review_date_must_fit_between_start_and_end(doctor_client, patient):
    today = timezone.localdate()
    data = plan_form_data(
        plan_end_date=(today + timedelta(days=30)).isoformat(),
        next_review_date=(today + timedelta(days=60)).isoformat(),
    )
    response = doctor_client.post(create_url(patient), data)
    assert response.context["form"].errors["next_review_date"]


@pytest.mark.parametrize(("field", "days"), [("plan_end_date", 3660), ("next_review_date", 800)])
def test_create_refuses_dates_far_in_the_future(doctor_client, patient, field, days):
    later = (timezone.localdate() + timedelta(days=days)).isoformat()
    response = doctor_client.post(create_url(patient), plan_form_data(**{field: later}))
    assert response.status_code == 200
    assert "check the year" in response.context["form"].errors[field][0]


def test_create_for_patient_not_in_care_is_404(doctor_client, unrelated_patient):
    assert doctor_client.get(create_url(unrelated_patient)).status_code == 404
    assert doctor_client.post(create_url(unrelated_patient), plan_form_data()).status_code == 404
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_anonymous_and_patient(client, patient_client, patient):
    assert patient_client.post(create_url(patient), plan_form_data()).status_code == 403
    patient_client.logout()
    assert client.get(create_url(patient)).status_code == 302
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_from_reviewed_proposal_prefills_and_links(doctor_client, doctor, patient):
    proposal = make_reviewed_proposal(patient, doctor)
    response = doctor_client.get(create_url(patient, proposal))
    assert response.status_code == 200
    assert response.context["form"].initial["medications"] == proposal.medications_suggested
    assert proposal.medications_suggested.encode() in response.content
    assert b"IMPORTANT MEDICAL DISCLAIMER" in response.content
    doctor_client.post(create_url(patient, proposal), plan_form_data())
    plan = DoctorTreatmentPlan.objects.get()
    assert plan.ai_proposal == proposal
    proposal.refresh_from_db()
    assert proposal.used_at is not None


def test_create_from_pending_proposal_is_refused(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor)
    response = doctor_client.get(create_url(patient, proposal), follow=True)
    assert response.redirect_chain[-1][0] == reverse("doctor_view_ai_proposal", args=[proposal.pk])
    assert b"AI proposal must be reviewed by doctor first" in response.content
    doctor_client.post(create_url(patient, proposal), plan_form_data())
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_from_another_patients_proposal_is_refused(doctor_client, doctor, patient):
    second = PatientFactory(primary_doctor=doctor)
    proposal = make_reviewed_proposal(second, doctor)
    response = doctor_client.post(create_url(patient, proposal), plan_form_data(), follow=True)
    assert b"belongs to another patient" in response.content
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_from_another_doctors_proposal_is_404(doctor_client, other_doctor, patient):
    proposal = make_reviewed_proposal(patient, other_doctor)
    assert doctor_client.get(create_url(patient, proposal)).status_code == 404


# --- Edit --------------------------------------------------------------------------------------
def test_edit_draft(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    assert (
        doctor_client.get(reverse("doctor_edit_treatment_plan", args=[plan.pk])).status_code == 200
    )
    response = doctor_client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]), plan_form_data(plan_title="Edited")
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.plan_title == "Edited"
    assert Audit.objects.get(plan=plan, action="plan_edited").changes["plan_title"][1] == "Edited"


def test_edit_and_publish(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    doctor_client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]), plan_form_data(publish="1")
    )
    plan.refresh_from_db()
    assert plan.status == "active"


def test_edit_invalid_form_rerendered(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    response = doctor_client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]), plan_form_data(plan_title="")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["plan_title"]
    plan.refresh_from_db()
    assert plan.plan_title == "Hypertension Management Plan"


def test_edit_active_plan_is_refused(doctor_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    url = reverse("doctor_edit_treatment_plan", args=[plan.pk])
    response = doctor_client.post(url, plan_form_data(plan_title="Sneaky"), follow=True)
    assert b"Only a draft can be edited" in response.content
    plan.refresh_from_db()
    assert plan.plan_title != "Sneaky"


def test_edit_other_doctors_plan_is_404(doctor_client, other_doctor, patient):
    plan = make_plan(patient, other_doctor)
    url = reverse("doctor_edit_treatment_plan", args=[plan.pk])
    assert doctor_client.get(url).status_code == 404
    assert doctor_client.post(url, plan_form_data()).status_code == 404


def test_edit_anonymous_and_patient(client, patient_client, doctor, patient):
    url = reverse("doctor_edit_treatment_plan", args=[make_plan(patient, doctor).pk])
    assert patient_client.get(url).status_code == 403
    patient_client.logout()
    assert client.get(url).status_code == 302


# --- Lifecycle actions -------------------------------------------------------------------------
def test_publish_action(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    response = doctor_client.post(
        reverse("doctor_publish_treatment_plan", args=[plan.pk]), follow=True
    )
    plan.refresh_from_db()
    assert plan.status == "active"
    assert b"Treatment plan published to the patient." in response.content


def test_revise_action_then_publish_supersedes(doctor_client, doctor, patient):
    old = make_published_plan(patient, doctor)
    response = doctor_client.post(reverse("doctor_revise_treatment_plan", args=[old.pk]))
    new = DoctorTreatmentPlan.objects.get(previous_version=old)
    assert response.url == detail_url(new)
    doctor_client.post(reverse("doctor_publish_treatment_plan", args=[new.pk]))
    old.refresh_from_db()
    assert old.status == "superseded"
    response = doctor_client.post(
        reverse("doctor_revise_treatment_plan", args=[old.pk]), follow=True
    )
    assert b"Only an active plan can be revised" in response.content


def test_complete_and_cancel_actions(doctor_client, doctor, patient):
    active = make_published_plan(patient, doctor)
    doctor_client.post(reverse("doctor_complete_treatment_plan", args=[active.pk]))
    active.refresh_from_db()
    assert active.status == "completed"
    draft = make_plan(patient, doctor)
    doctor_client.post(reverse("doctor_cancel_treatment_plan", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "cancelled"


def test_refused_action_shows_message(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    url = reverse("doctor_complete_treatment_plan", args=[plan.pk])
    response = doctor_client.post(url, follow=True)
    assert b"Only an active plan can be completed" in response.content
    plan.refresh_from_db()
    assert plan.status == "draft"


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_refuse_get(doctor_client, doctor, patient, name):
    plan = make_published_plan(patient, doctor)
    assert doctor_client.get(reverse(name, args=[plan.pk])).status_code == 405


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_on_other_doctors_plan_are_404(doctor_client, other_doctor, patient, name):
    plan = make_published_plan(patient, other_doctor)
    assert doctor_client.post(reverse(name, args=[plan.pk])).status_code == 404
    plan.refresh_from_db()
    assert plan.status == "active"


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_anonymous_and_patient(client, patient_client, doctor, patient, name):
    plan = make_published_plan(patient, doctor)
    assert patient_client.post(reverse(name, args=[plan.pk])).status_code == 403
    patient_client.logout()
    assert client.post(reverse(name, args=[plan.pk])).status_code == 302
    plan.refresh_from_db()
    assert plan.status == "active"


# --- Encounter link ----------------------------------------------------------------------------
def test_create_links_an_encounter_of_this_patient_only(doctor_client, doctor, patient):
    from .factories import EncounterFactory

    visit = EncounterFactory(patient=patient, provider=doctor)
    foreign = EncounterFactory(patient=PatientFactory(primary_doctor=doctor), provider=doctor)
    response = doctor_client.post(create_url(patient), plan_form_data(encounter=foreign.pk))
    assert response.status_code == 200
    assert response.context["form"].errors["encounter"]
    doctor_client.post(create_url(patient), plan_form_data(encounter=visit.pk))
    plan = DoctorTreatmentPlan.objects.get()
    assert plan.encounter == visit
    assert Audit.objects.get(plan=plan).changes["encounter"] == [None, visit.pk]
    doctor_client.post(reverse("doctor_edit_treatment_plan", args=[plan.pk]), plan_form_data())
    plan.refresh_from_db()
    assert plan.encounter is None
    assert Audit.objects.get(plan=plan, action="plan_edited").changes["encounter"] == [
        visit.pk,
        None,
    ]


# --- Navigation found in the browser review ---------------------------------------------------
def test_discarding_a_revision_returns_to_the_version_still_in_force(
    doctor_client, doctor, patient
):
    old = make_published_plan(patient, doctor)
    doctor_client.post(reverse("doctor_revise_treatment_plan", args=[old.pk]))
    draft = DoctorTreatmentPlan.objects.get(previous_version=old)
    page = doctor_client.get(detail_url(draft))
    assert b"Discard this revision" in page.content
    response = doctor_client.post(
        reverse("doctor_cancel_treatment_plan", args=[draft.pk]), follow=True
    )
    assert response.redirect_chain[-1][0] == detail_url(old)
    assert b"Revision v2 discarded; version 1 is unchanged (active)." in response.content
    draft.refresh_from_db()
    old.refresh_from_db()
    assert (draft.status, old.status) == ("cancelled", "active")


def test_plan_page_links_to_the_patient_chart(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    response = doctor_client.get(detail_url(plan))
    chart = reverse("doctor_patient_chart", args=[patient.pk])
    assert f'href="{chart}"'.encode() in response.content
    assert b"Cancel plan" in response.content  # a first draft is cancelled, not "discarded"


def test_plan_form_cancel_goes_back_where_the_doctor_came_from(doctor_client, doctor, patient):
    chart = reverse("doctor_patient_chart", args=[patient.pk])
    response = doctor_client.get(create_url(patient))
    assert response.context["patient"] == patient
    assert f'href="{chart}" data-testid="cancel-form"'.encode() in response.content
    proposal = make_reviewed_proposal(patient, doctor)
    response = doctor_client.get(create_url(patient, proposal))
    back = reverse("doctor_view_ai_proposal", args=[proposal.pk])
    assert f'href="{back}" data-testid="cancel-form"'.encode() in response.content
    assert b"Follow-up instructions" in response.content


def test_empty_list_says_how_to_start_and_filters_can_be_cleared(doctor_client):
    response = doctor_client.get(reverse("doctor_treatment_plans"))
    assert b"No treatment plans yet." in response.content
    assert b'data-testid="clear-filter"' not in response.content
    response = doctor_client.get(reverse("doctor_treatment_plans"), {"status": "active"})
    assert b"No treatment plans match these filters." in response.content
    assert b'data-testid="clear-filter"' in response.content
