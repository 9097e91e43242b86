"""URLs of the healthcare app. Names follow the specification (Views and URLs)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Dashboards
    path("doctor/", views.doctor_dashboard, name="doctor_dashboard"),
    path("patient/", views.patient_dashboard, name="patient_dashboard"),
    # Doctor - Patients (list and read-only chart)
    path("doctor/patients/", views.doctor_patients_list, name="doctor_patients_list"),
    path(
        "doctor/patients/<int:patient_id>/",
        views.doctor_patient_chart,
        name="doctor_patient_chart",
    ),
    # Doctor - AI Proposals (list, detail, review)
    path("doctor/ai-proposals/", views.doctor_ai_proposals, name="doctor_ai_proposals"),
    path(
        "doctor/ai-proposals/<int:proposal_id>/",
        views.doctor_view_ai_proposal,
        name="doctor_view_ai_proposal",
    ),
    path(
        "doctor/ai-proposals/<int:proposal_id>/review/",
        views.doctor_review_ai_proposal,
        name="doctor_review_ai_proposal",
    ),
    # Doctor - AI generation in the background (issue 5)
    path(
        "doctor/patients/<int:patient_id>/generate-ai-proposal/",
        views.doctor_generate_ai_proposal,
        name="doctor_generate_ai_proposal",
    ),
    path(
        "doctor/ai-proposals/<int:proposal_id>/status/",
        views.doctor_ai_proposal_status,
        name="doctor_ai_proposal_status",
    ),
    path(
        "doctor/ai-proposals/<int:proposal_id>/retry/",
        views.doctor_retry_ai_proposal,
        name="doctor_retry_ai_proposal",
    ),
    # Doctor - Treatment Plans
    path("doctor/treatment-plans/", views.doctor_treatment_plans, name="doctor_treatment_plans"),
    path(
        "doctor/patients/<int:patient_id>/create-treatment-plan/",
        views.doctor_create_treatment_plan,
        name="doctor_create_treatment_plan",
    ),
    path(
        "doctor/patients/<int:patient_id>/create-treatment-plan/<int:proposal_id>/",
        views.doctor_create_treatment_plan,
        name="doctor_create_treatment_plan_from_proposal",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/",
        views.doctor_view_treatment_plan,
        name="doctor_view_treatment_plan",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/edit/",
        views.doctor_edit_treatment_plan,
        name="doctor_edit_treatment_plan",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/publish/",
        views.doctor_publish_treatment_plan,
        name="doctor_publish_treatment_plan",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/revise/",
        views.doctor_revise_treatment_plan,
        name="doctor_revise_treatment_plan",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/complete/",
        views.doctor_complete_treatment_plan,
        name="doctor_complete_treatment_plan",
    ),
    path(
        "doctor/treatment-plans/<int:plan_id>/cancel/",
        views.doctor_cancel_treatment_plan,
        name="doctor_cancel_treatment_plan",
    ),
    # Patient - Treatment Plans
    path("patient/treatment-plans/", views.patient_treatment_plans, name="patient_treatment_plans"),
    path(
        "patient/treatment-plans/<int:plan_id>/",
        views.patient_view_treatment_plan,
        name="patient_view_treatment_plan",
    ),
    path(
        "patient/treatment-plans/<int:plan_id>/acknowledge/",
        views.patient_acknowledge_treatment_plan,
        name="patient_acknowledge_treatment_plan",
    ),
    path(
        "patient/treatment-plans/<int:plan_id>/feedback/",
        views.patient_send_feedback,
        name="patient_send_feedback",
    ),
]
