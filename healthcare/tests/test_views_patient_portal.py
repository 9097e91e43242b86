"""Patient pages: dashboard, plans list, plan detail, acknowledge, feedback, version history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthcare.models import PlanFeedback
from healthcare.models import TreatmentPlanAuditLog as Audit

from .workflow_helpers import make_plan, make_published_plan

pytestmark = pytest.mark.django_db


def detail_url(plan):
    return reverse("patient_view_treatment_plan", args=[plan.pk])


def ack_url(plan):
    return reverse("patient_acknowledge_treatment_plan", args=[plan.pk])


def feedback_url(plan):
    return reverse("patient_send_feedback", args=[plan.pk])


# --- Dashboard ---------------------------------------------------------------------------------
def test_dashboard_lists_active_plans_with_new_and_acknowledged_badges(
    patient_client, doctor, patient
):
    new = make_published_plan(patient, doctor, plan_title="Fresh plan")
    seen = make_published_plan(patient, doctor, plan_title="Seen plan")
    seen.mark_patient_acknowledged()
    make_plan(patient, doctor, plan_title="Secret draft")
    body = patient_client.get(reverse("patient_dashboard")).content.decode()
    assert "My Treatment Plans" in body
    assert "Fresh plan" in body
    assert "Seen plan" in body
    assert "Secret draft" not in body
    assert body.count('data-testid="badge-new"') == 1
    assert body.count('data-testid="badge-acknowledged"') == 1
    assert detail_url(new) in body


def test_dashboard_without_plans(patient_client):
    assert (
        b"No treatment plans available yet."
        in patient_client.get(reverse("patient_dashboard")).content
    )


def test_dashboard_anonymous_and_doctor(client, doctor_client):
    assert doctor_client.get(reverse("patient_dashboard")).status_code == 403
    doctor_client.logout()
    assert client.get(reverse("patient_dashboard")).status_code == 302


# --- List --------------------------------------------------------------------------------------
def test_list_shows_only_published_own_plans(patient_client, doctor, patient, other_patient):
    mine = make_published_plan(patient, doctor, plan_title="Mine")
    make_plan(patient, doctor, plan_title="Draft of mine")
    make_published_plan(other_patient, doctor, plan_title="Someone else")
    response = patient_client.get(reverse("patient_treatment_plans"))
    assert list(response.context["plans"]) == [mine]
    assert b"Draft of mine" not in response.content
    assert b"Someone else" not in response.content


def test_list_bounded_queries(patient_client, doctor, patient, django_assert_max_num_queries):
    for _ in range(30):
        make_published_plan(patient, doctor)
    with django_assert_max_num_queries(10):
        response = patient_client.get(reverse("patient_treatment_plans"))
    assert len(response.context["plans"]) == 20


def test_list_anonymous_and_doctor(client, doctor_client):
    assert doctor_client.get(reverse("patient_treatment_plans")).status_code == 403
    doctor_client.logout()
    assert client.get(reverse("patient_treatment_plans")).status_code == 302


# --- Detail ------------------------------------------------------------------------------------
def test_detail_marks_viewed_once(patient_client, patient_user, doctor, patient):
    plan = make_published_plan(patient, doctor, medications="Take <i>one</i> daily")
    response = patient_client.get(detail_url(plan))
    assert response.status_code == 200
    assert b"Take &lt;i&gt;one&lt;/i&gt; daily" in response.content
    assert b'data-testid="acknowledge-plan"' in response.content
    patient_client.get(detail_url(plan))
    plan.refresh_from_db()
    assert plan.patient_viewed_at is not None
    viewed = Audit.objects.filter(plan=plan, action="patient_viewed")
    assert viewed.count() == 1
    assert viewed.get().actor == patient_user


def test_detail_of_draft_is_404(patient_client, doctor, patient):
    plan = make_plan(patient, doctor)
    assert patient_client.get(detail_url(plan)).status_code == 404
    plan.refresh_from_db()
    assert plan.patient_viewed_at is None


def test_detail_of_other_patients_plan_is_404(patient_client, doctor, other_patient):
    plan = make_published_plan(other_patient, doctor)
    assert patient_client.get(detail_url(plan)).status_code == 404
    assert patient_client.post(ack_url(plan)).status_code == 404
    assert patient_client.post(feedback_url(plan), {"feedback_text": "hi"}).status_code == 404
    assert not PlanFeedback.objects.exists()


def test_detail_anonymous_and_doctor(client, doctor_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert doctor_client.get(detail_url(plan)).status_code == 403
    doctor_client.logout()
    assert client.get(detail_url(plan)).status_code == 302
    plan.refresh_from_db()
    assert plan.patient_viewed_at is None


def test_detail_shows_published_versions_only(patient_client, doctor, patient):
    old = make_published_plan(patient, doctor, medications="Version one meds")
    new = make_plan(patient, doctor, previous_version=old, version=2, medications="Version two")
    new.publish_to_patient()
    draft = make_plan(
        patient, doctor, previous_version=new, version=3, medications="Unpublished three"
    )
    body = patient_client.get(detail_url(old)).content.decode()
    assert "Version one meds" in body  # old version readable
    assert 'data-testid="superseded-banner"' in body
    assert detail_url(new) in body
    assert detail_url(draft) not in body
    body = patient_client.get(detail_url(new)).content.decode()
    assert detail_url(old) in body
    assert "Unpublished three" not in body
    assert detail_url(draft) not in body
    assert 'data-testid="superseded-banner"' not in body


# --- Acknowledge -------------------------------------------------------------------------------
def test_acknowledge(patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    response = patient_client.post(ack_url(plan), follow=True)
    assert b"Thank you for acknowledging" in response.content
    plan.refresh_from_db()
    assert plan.patient_acknowledged_at is not None
    response = patient_client.post(ack_url(plan), follow=True)
    assert b"already acknowledged" in response.content
    assert Audit.objects.filter(plan=plan, action="patient_acknowledged").count() == 1


def test_acknowledge_get_is_405(patient_client, doctor, patient):
    assert patient_client.get(ack_url(make_published_plan(patient, doctor))).status_code == 405


def test_acknowledge_draft_is_404(patient_client, doctor, patient):
    plan = make_plan(patient, doctor)
    assert patient_client.post(ack_url(plan)).status_code == 404


def test_acknowledge_anonymous_and_doctor(client, doctor_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert doctor_client.post(ack_url(plan)).status_code == 403
    doctor_client.logout()
    assert client.post(ack_url(plan)).status_code == 302
    plan.refresh_from_db()
    assert plan.patient_acknowledged_at is None


# --- Feedback ----------------------------------------------------------------------------------
def test_feedback_is_kept_as_history(patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    patient_client.post(feedback_url(plan), {"feedback_text": "First"})
    response = patient_client.post(feedback_url(plan), {"feedback_text": "Second"}, follow=True)
    assert b"Your feedback has been sent to your doctor." in response.content
    assert list(plan.feedback_messages.values_list("message", flat=True)) == ["First", "Second"]
    assert b"First" in response.content and b"Second" in response.content


@pytest.mark.parametrize("text", ["", "    ", "x" * 2001])
def test_feedback_invalid_is_rerendered_with_errors(patient_client, doctor, patient, text):
    plan = make_published_plan(patient, doctor)
    response = patient_client.post(feedback_url(plan), {"feedback_text": text})
    assert response.status_code == 200
    assert response.context["feedback_form"].errors["feedback_text"]
    assert b"invalid-feedback" in response.content
    assert not PlanFeedback.objects.exists()


def test_feedback_get_is_405(patient_client, doctor, patient):
    assert patient_client.get(feedback_url(make_published_plan(patient, doctor))).status_code == 405


def test_feedback_anonymous_and_doctor(client, doctor_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert doctor_client.post(feedback_url(plan), {"feedback_text": "x"}).status_code == 403
    doctor_client.logout()
    assert client.post(feedback_url(plan), {"feedback_text": "x"}).status_code == 302
    assert not PlanFeedback.objects.exists()


# --- The specification's combined form on the detail page ----------------------------------------
def test_spec_post_form_on_detail_page(patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    patient_client.post(detail_url(plan), {"acknowledge": "1"})
    patient_client.post(detail_url(plan), {"feedback": "1", "feedback_text": "Question"})
    plan.refresh_from_db()
    assert plan.patient_acknowledged_at is not None
    assert plan.feedback_messages.get().message == "Question"
    response = patient_client.post(detail_url(plan), {"feedback": "1", "feedback_text": ""})
    assert response.status_code == 200
    assert response.context["feedback_form"].errors


def test_detail_refuses_other_methods(patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert patient_client.put(detail_url(plan)).status_code == 405


def test_old_version_sends_questions_to_the_current_one(patient_client, doctor, patient):
    old = make_published_plan(patient, doctor)
    new = make_plan(patient, doctor, previous_version=old, version=2)
    new.publish_to_patient()
    body = patient_client.get(detail_url(old)).content.decode()
    assert 'data-testid="feedback-form"' not in body
    assert 'data-testid="acknowledge-plan"' not in body  # nothing to confirm on an old version
    assert 'data-testid="feedback-on-current"' in body and detail_url(new) in body
    body = patient_client.get(detail_url(new)).content.decode()
    assert 'data-testid="feedback-form"' in body
    assert 'data-testid="acknowledge-plan"' in body
