"""`manage.py generate_treatment_proposals`: selection, idempotence, dry run, --sync, exit code."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from healthcare.management.commands.generate_treatment_proposals import select_candidates
from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog

from .factories import (
    AIProposedTreatmentPlanFactory,
    EncounterFactory,
    PatientFactory,
    ProviderFactory,
    VitalSignFactory,
)
from .generation_fakes import install_fake_generator

GS = AIProposedTreatmentPlan.GenerationStatus


@pytest.fixture(autouse=True)
def fake_ai(monkeypatch):
    return install_fake_generator(monkeypatch)


def vital(patient, hours_ago=1.0, **values):
    return VitalSignFactory(
        encounter=EncounterFactory(patient=patient),
        recorded_at=timezone.now() - timedelta(hours=hours_ago),
        **values,
    )


def run(*args, capture=None):
    out = StringIO()
    call_command("generate_treatment_proposals", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ward(db):
    """Three critical patients (one per threshold), and three just under the thresholds."""
    doctor = ProviderFactory()
    p = {name: PatientFactory(primary_doctor=doctor) for name in ("bp", "hr", "spo2")}
    vital(p["bp"], blood_pressure_systolic=185)
    vital(p["hr"], heart_rate=125)
    vital(p["spo2"], oxygen_saturation=88)
    calm = PatientFactory(primary_doctor=doctor)
    vital(calm, blood_pressure_systolic=179, heart_rate=119, oxygen_saturation=91)
    old = PatientFactory(primary_doctor=doctor)
    vital(old, hours_ago=30, blood_pressure_systolic=200)
    p["calm"], p["old"], p["doctor"] = calm, old, doctor
    return p


def test_selects_patients_at_or_beyond_each_threshold_in_the_window(ward):
    chosen = select_candidates(
        timezone.now() - timedelta(hours=24), systolic=180, heart_rate=120, spo2=90
    )
    assert {c.patient_id for c in chosen} == {ward[k].pk for k in ("bp", "hr", "spo2")}
    findings = {c.patient_id: c.findings for c in chosen}
    assert findings[ward["bp"].pk] == ["systolic 185"]
    assert findings[ward["spo2"].pk] == ["SpO2 88"]


def test_boundaries_are_inclusive(db):
    patient = PatientFactory()
    vital(patient, blood_pressure_systolic=180, heart_rate=120, oxygen_saturation=90)
    (chosen,) = select_candidates(
        timezone.now() - timedelta(hours=24), systolic=180, heart_rate=120, spo2=90
    )
    assert chosen.findings == ["systolic 180", "heart rate 120", "SpO2 90"]


def test_queues_one_proposal_per_patient_and_is_idempotent(
    ward, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = run()
    proposals = AIProposedTreatmentPlan.objects.all()
    assert proposals.count() == 3
    assert {p.patient_id for p in proposals} == {ward[k].pk for k in ("bp", "hr", "spo2")}
    assert all(p.generation_status == GS.QUEUED for p in proposals)
    assert all(p.provider == ward["doctor"] for p in proposals)
    assert DBTaskResult.objects.count() == 3
    assert set(DBTaskResult.objects.values_list("priority", flat=True)) == {-10}  # behind clicks
    assert "Summary: 3 patient(s); 3 queued." in first
    entry = TreatmentPlanAuditLog.objects.filter(action="generation_requested").first()
    assert entry.actor is None and entry.changes["source"] == "batch"

    with django_capture_on_commit_callbacks(execute=True):
        second = run()
    assert AIProposedTreatmentPlan.objects.count() == 3
    assert DBTaskResult.objects.count() == 3
    assert "3 skipped" in second


def test_progress_lines_name_ids_not_patients(ward):
    out = run("--dry-run")
    assert f"patient {ward['bp'].pk} (systolic 185): queued: dry run" in out
    assert ward["bp"].last_name not in out
    assert ward["bp"].mrn not in out


def test_dry_run_changes_nothing(ward):
    out = run("--dry-run")
    assert "dry run" in out
    assert "3 would be queued" in out
    assert not AIProposedTreatmentPlan.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert not TreatmentPlanAuditLog.objects.exists()


def test_one_a_day_counts_any_doctor_but_not_a_failed_attempt(ward):
    AIProposedTreatmentPlanFactory(patient=ward["bp"], provider=ProviderFactory())
    failed = AIProposedTreatmentPlanFactory(
        patient=ward["hr"], provider=ward["doctor"], generation_status=GS.FAILED
    )
    yesterday = AIProposedTreatmentPlanFactory(patient=ward["spo2"], provider=ward["doctor"])
    AIProposedTreatmentPlan.objects.filter(pk=yesterday.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    out = run()
    assert "1 skipped" in out
    retry = AIProposedTreatmentPlan.objects.get(patient=ward["hr"], generation_status=GS.QUEUED)
    assert retry.retry_of == failed
    assert AIProposedTreatmentPlan.objects.filter(
        patient=ward["spo2"], generation_status=GS.QUEUED
    ).exists()


def test_thresholds_and_window_can_be_changed(ward):
    out = run("--dry-run", "--systolic", "179", "--heart-rate", "200", "--spo2", "50")
    assert f"patient {ward['calm'].pk} (systolic 179)" in out
    assert f"patient {ward['hr'].pk}" not in out
    out = run("--dry-run", "--since", "48")
    assert f"patient {ward['old'].pk} (systolic 200)" in out
    iso = (timezone.now() - timedelta(hours=48)).isoformat()
    assert f"patient {ward['old'].pk}" in run("--dry-run", "--since", iso)
    naive = (timezone.localtime() - timedelta(hours=2)).replace(tzinfo=None).isoformat()
    assert f"patient {ward['old'].pk}" not in run("--dry-run", "--since", naive)


@pytest.mark.parametrize("bad", ["yesterday", "-3", "0"])
def test_a_bad_since_is_a_clear_error(db, bad):
    with pytest.raises(CommandError, match="--since"):
        run("--since", bad)


def test_encounter_doctor_reviews_else_the_primary_doctor_else_skipped(db):
    primary, er_doctor = ProviderFactory(), ProviderFactory()
    seen_in_er = PatientFactory(primary_doctor=primary)
    VitalSignFactory(
        encounter=EncounterFactory(patient=seen_in_er, provider=er_doctor), heart_rate=130
    )
    orphan = PatientFactory(primary_doctor=None)
    VitalSignFactory(encounter=EncounterFactory(patient=orphan, provider=None), heart_rate=130)
    out = run()
    assert AIProposedTreatmentPlan.objects.get().provider == er_doctor
    assert f"patient {orphan.pk} (heart rate 130): skipped: no doctor" in out


def test_sync_runs_the_generator_inline(ward, fake_ai, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = run("--sync")
    assert len(fake_ai.calls) == 3
    assert not DBTaskResult.objects.exists()  # nothing for a worker to pick up twice
    assert set(AIProposedTreatmentPlan.objects.values_list("generation_status", flat=True)) == {
        GS.COMPLETED
    }
    assert "3 completed" in out


def test_a_failed_generation_makes_the_exit_code_non_zero(ward, fake_ai):
    fake_ai.outcome = "fail"
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("generate_treatment_proposals", "--sync", stdout=out)
    assert raised.value.returncode == 1
    assert "3 failed" in out.getvalue()
    assert "cannot be reached" in out.getvalue()


def test_the_exit_code_through_the_real_entry_point(ward, fake_ai, monkeypatch):
    fake_ai.outcome = "fail"
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["manage.py", "generate_treatment_proposals", "--sync"])
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1


def test_selection_takes_a_fixed_number_of_queries(db, django_assert_num_queries):
    doctor = ProviderFactory()
    for n in range(40):
        patient = PatientFactory(primary_doctor=doctor)
        vital(patient, heart_rate=130)
        vital(patient, hours_ago=2, heart_rate=140)
        if n % 3 == 0:
            AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    since = timezone.now() - timedelta(hours=24)
    with django_assert_num_queries(2):
        chosen = select_candidates(since, systolic=180, heart_rate=120, spo2=90)
    assert len(chosen) == 40
    assert sum(c.has_proposal_today for c in chosen) == 14
    assert all(c.findings == ["heart rate 130"] for c in chosen)  # the newest reading
