"""Shared pieces of the hardening tests (issue 6): a patient ready for AI, snapshots of what a
failure must leave untouched, and a recorder of every log line."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.forms.models import model_to_dict
from django.utils import timezone

from healthcare.models import AIProposedTreatmentPlan, Patient

from . import factories as f

# Identifiers and free text that must never reach a log line.
PATIENT_FIRST = "Zebulon"
PATIENT_LAST = "Quixworth"
PATIENT_MRN = "MRN-SEC-770119"
PATIENT_DOB = "1951-07-19"
COMPLAINT = "Chest tightness climbing the stairs to Quixworth's attic"
HISTORY_NOTE = "Ruptured appendix repaired in Vladivostok"


def make_ready_patient(doctor, **patient_fields) -> Patient:
    """A patient in `doctor`'s care with enough record for the generator (3 vitals, a
    diagnosis, medical history) and a bit of everything else."""
    patient = f.PatientFactory(
        primary_doctor=doctor,
        first_name=patient_fields.pop("first_name", PATIENT_FIRST),
        last_name=patient_fields.pop("last_name", PATIENT_LAST),
        mrn=patient_fields.pop("mrn", PATIENT_MRN),
        date_of_birth=patient_fields.pop("date_of_birth", date.fromisoformat(PATIENT_DOB)),
        **patient_fields,
    )
    now = timezone.now()
    for days in (60, 30, 1):
        encounter = f.EncounterFactory(
            patient=patient,
            provider=doctor,
            encounter_date=now - timedelta(days=days),
            chief_complaint=COMPLAINT,
        )
        f.VitalSignFactory(
            encounter=encounter,
            recorded_at=now - timedelta(days=days),
            blood_pressure_systolic=150 + days % 7,
        )
    f.DiagnosisFactory(encounter=encounter)
    f.MedicalHistoryFactory(patient=patient, condition=HISTORY_NOTE)
    f.LabTestFactory(patient=patient)
    f.AllergyFactory(patient=patient)
    f.PrescriptionFactory(patient=patient, provider=doctor)
    f.SocialHistoryFactory(patient=patient)
    return patient


def record_snapshot(patient: Patient) -> dict:
    """Everything about the patient's record that a generation must not change."""
    from healthcare.models import Diagnosis, SocialHistory, VitalSign

    related = {
        "encounters": patient.encounters.all(),
        "vital_signs": VitalSign.objects.filter(encounter__patient=patient),
        "diagnoses": Diagnosis.objects.filter(encounter__patient=patient),
        "lab_tests": patient.lab_tests.all(),
        "medical_history": patient.medical_history.all(),
        "family_history": patient.family_history.all(),
        "social_history": SocialHistory.objects.filter(patient=patient),
        "allergies": patient.allergies.all(),
        "prescriptions": patient.prescriptions.all(),
        "treatment_plans": patient.treatment_plans.all(),
    }
    fresh = Patient.objects.get(pk=patient.pk)
    snapshot = {"patient": model_to_dict(fresh)}
    for name, rows in related.items():
        snapshot[name] = [model_to_dict(row) for row in rows.order_by("pk")]
    return snapshot


def proposals_snapshot(patient: Patient) -> dict[int, dict]:
    return {
        p.pk: model_to_dict(p)
        for p in AIProposedTreatmentPlan.objects.filter(patient=patient).order_by("pk")
    }


class LogRecorder(logging.Handler):
    """Every record of every logger, formatted with its arguments and any traceback."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class capture_all_logs:  # noqa: N801 - used like a function: `with capture_all_logs() as logs`
    """Attach a DEBUG recorder to the root logger and to every logger that does not propagate
    (settings give "healthcare" and "django" their own handlers), at DEBUG level."""

    LOUD = ("", "healthcare", "django", "django.request", "healthcare.ai", "axes")

    def __enter__(self) -> LogRecorder:
        self.recorder = LogRecorder()
        self.handled: list[logging.Logger] = []
        self.levels: list[tuple[logging.Logger, int]] = []
        for name in ["", *logging.root.manager.loggerDict]:
            logger = logging.getLogger(name)
            if name == "" or not logger.propagate:
                logger.addHandler(self.recorder)
                self.handled.append(logger)
        for name in self.LOUD:
            logger = logging.getLogger(name)
            self.levels.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        return self.recorder

    def __exit__(self, *exc) -> None:
        for logger in self.handled:
            logger.removeHandler(self.recorder)
        for logger, level in self.levels:
            logger.setLevel(level)


def iter_url_patterns(resolver=None, prefix: str = "", namespace: str | None = None):
    """(name, route) for every named URL pattern, namespaces included ("admin:index")."""
    from django.urls import URLResolver, get_resolver

    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from iter_url_patterns(pattern, prefix + str(pattern.pattern), ns)
        elif pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def run_worker_task_inline(monkeypatch) -> None:
    """Let tests call the worker's task function inside their transaction.

    run_generation() starts with close_old_connections(), right for a worker between jobs; in
    a test, inside the test's transaction, it would close the connection under the test on
    PostgreSQL (SQLite's in-memory test database ignores the close)."""
    import healthcare.services.generation as generation

    monkeypatch.setattr(generation, "close_old_connections", lambda: None)
