"""What the generator reads from a patient's record.

The result is plain JSON (Decimals as strings, dates as ISO strings) because it is stored as
the proposal's `input_snapshot`: exactly what was sent to the model. It carries age and sex,
never the name, MRN, date of birth, contact details or user ids (invariant 8).

Every list is one query with `.values()`, so the number of queries is fixed whatever the size
of the record (asserted in the tests for 3 and 3,000 vital signs).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from healthcare.models import (
    Allergy,
    Diagnosis,
    Encounter,
    FamilyHistory,
    LabTest,
    MedicalHistory,
    Patient,
    Prescription,
    SocialHistory,
    VitalSign,
)

SNAPSHOT_VERSION = 1

# The specification's limits, plus the extras the generator needs to be safe.
MAX_VITALS = 10
MAX_DIAGNOSES = 10
MAX_LABS = 15
MAX_ENCOUNTERS = 5
MIN_VITALS_FOR_AI = 3

# Free text typed by a patient or a clerk is capped (characters) before it reaches the prompt.
FREE_TEXT_LIMITS = {
    "social_history.notes": 600,
    "social_history.exercise": 200,
    "social_history.diet": 200,
    "social_history.occupation": 120,
    "recent_encounters.chief_complaint": 300,
    "diagnoses.notes": 300,
    "medical_history.notes": 300,
    "family_history.notes": 200,
    "lab_tests.notes": 200,
    "allergies.reaction": 200,
    "current_medications.instructions": 200,
}
TRUNCATION_MARK = " [...]"


def to_json_value(value: Any) -> Any:
    """Decimals, dates and datetimes as strings; everything else unchanged."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def cap_text(value: str | None, limit: int, truncated: list[str], field: str) -> str:
    """Trim and cap one free-text value; note the field when it had to be cut."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        truncated.append(field)
        text = text[: limit - len(TRUNCATION_MARK)].rstrip() + TRUNCATION_MARK
    return text


def _rows(queryset, fields: list[str]) -> list[dict]:
    return [{k: to_json_value(v) for k, v in row.items()} for row in queryset.values(*fields)]


def _capped(rows: list[dict], section: str, truncated: list[str], *keys: str) -> list[dict]:
    """Cap the free-text `keys` of each row (limits in FREE_TEXT_LIMITS["<section>.<key>"])."""
    for row in rows:
        for key in keys:
            field = f"{section}.{key}"
            row[key] = cap_text(row[key], FREE_TEXT_LIMITS[field], truncated, field)
    return rows


def gather_patient_data(patient: Patient) -> dict:
    """Collect the record for the prompt in a fixed number of queries (nine)."""
    truncated: list[str] = []
    vitals = _rows(
        VitalSign.objects.filter(encounter__patient=patient).order_by("-recorded_at", "-pk")[
            :MAX_VITALS
        ],
        ["recorded_at", *VitalSign.MEASUREMENT_FIELDS, "bmi"],
    )
    diagnoses = _capped(
        _rows(
            Diagnosis.objects.filter(encounter__patient=patient).order_by("-diagnosed_date", "-pk")[
                :MAX_DIAGNOSES
            ],
            ["description", "icd10_code", "diagnosis_type", "status", "diagnosed_date", "notes"],
        ),
        "diagnoses",
        truncated,
        "notes",
    )
    labs = _capped(
        _rows(
            LabTest.objects.filter(patient=patient)
            .exclude(status=LabTest.Status.CANCELLED)
            .order_by("-ordered_date", "-pk")[:MAX_LABS],
            [
                "test_name",
                "test_code",
                "ordered_date",
                "result_date",
                "result_value",
                "unit",
                "reference_range",
                "abnormal_flag",
                "status",
                "notes",
            ],
        ),
        "lab_tests",
        truncated,
        "notes",
    )
    medical_history = _capped(
        _rows(
            MedicalHistory.objects.filter(patient=patient).order_by("-diagnosed_date", "-pk"),
            ["condition", "diagnosed_date", "status", "notes"],
        ),
        "medical_history",
        truncated,
        "notes",
    )
    family_history = _capped(
        _rows(
            FamilyHistory.objects.filter(patient=patient).order_by("relationship", "pk"),
            ["relationship", "condition", "age_at_diagnosis", "notes"],
        ),
        "family_history",
        truncated,
        "notes",
    )
    social_rows = _capped(
        _rows(
            SocialHistory.objects.filter(patient=patient)[:1],
            [
                "smoking_status",
                "pack_years",
                "alcohol_use",
                "drug_use",
                "exercise",
                "diet",
                "occupation",
                "notes",
            ],
        ),
        "social_history",
        truncated,
        "exercise",
        "diet",
        "occupation",
        "notes",
    )
    social = social_rows[0] if social_rows else None
    allergies = _capped(
        _rows(
            Allergy.objects.filter(patient=patient, is_active=True).order_by("allergen", "pk"),
            ["allergen", "allergy_type", "severity", "reaction"],
        ),
        "allergies",
        truncated,
        "reaction",
    )
    medications = _capped(
        _rows(
            Prescription.objects.filter(
                patient=patient,
                status__in=[Prescription.Status.ACTIVE, Prescription.Status.ON_HOLD],
                # Active before on hold, newest first: if a very long list must be shortened
                # (healthcare.ai.prompt.SHORTENING_STEPS), the end of it goes.
            ).order_by("status", "-start_date", "medication_name", "pk"),
            [
                "medication_name",
                "dosage",
                "frequency",
                "route",
                "status",
                "start_date",
                "instructions",
            ],
        ),
        "current_medications",
        truncated,
        "instructions",
    )
    encounters = [
        row
        for row in _capped(
            _rows(
                Encounter.objects.filter(patient=patient)
                .exclude(chief_complaint="")
                .order_by("-encounter_date", "-pk")[:MAX_ENCOUNTERS],
                ["encounter_date", "encounter_type", "chief_complaint"],
            ),
            "recent_encounters",
            truncated,
            "chief_complaint",
        )
        if row["chief_complaint"]
    ]
    today = timezone.localdate()
    data = {
        "snapshot_version": SNAPSHOT_VERSION,
        "as_of": today.isoformat(),
        "demographics": {"age": _age(patient, today), "sex": patient.get_sex_display()},
        "vital_signs": vitals,
        "diagnoses": diagnoses,
        "lab_tests": labs,
        "medical_history": medical_history,
        "family_history": family_history,
        "social_history": social,
        "allergies": allergies,
        "current_medications": medications,
        "recent_encounters": encounters,
        "truncated_fields": sorted(set(truncated)),
    }
    data["redacted_fields"] = redact_identifiers(data, patient)
    return data


REDACTED = "[redacted]"


def _identifier_pattern(patient: Patient) -> re.Pattern | None:
    """The patient's own name parts, MRN, phone and e-mail, as whole words, any case."""
    full = [str(n or "").strip() for n in (patient.first_name, patient.last_name)]
    # "Lopez-Reyes" is also written "Lopez" or "Reyes"; each part is redacted on its own.
    names = set(full) | {p for n in full for p in re.split(r"[\s\-]+", n)}
    others = {str(v).strip() for v in (patient.mrn, patient.phone, patient.email) if v}
    terms = sorted({t for t in names if len(t) >= 2} | {t for t in others if t}, key=len)
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in reversed(terms))  # longest first
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact_identifiers(data: dict, patient: Patient) -> list[str]:
    """Replace the patient's own identifiers inside free text ("Maria called about..."), which
    a clerk may type into any note. Only the free-text fields are touched (never test or drug
    names), at the cost of an occasional false hit on a name that is also a word. Returns the
    fields where something was replaced (the proposal gets a flag)."""
    pattern = _identifier_pattern(patient)
    if pattern is None:
        return []
    redacted: set[str] = set()
    for field in FREE_TEXT_LIMITS:
        section, key = field.split(".")
        value = data.get(section)
        rows = [value] if isinstance(value, dict) else (value or [])
        for row in rows:
            text = row.get(key)
            if isinstance(text, str) and text:
                new_text = pattern.sub(REDACTED, text)
                if new_text != text:
                    row[key] = new_text
                    redacted.add(field)
    return sorted(redacted)


def _age(patient: Patient, today: date) -> int | str:
    """Age in years; "90+" from 90 on (HIPAA Safe Harbor: higher ages can identify)."""
    age = patient.age_on(today)
    return age if age < 90 else "90+"


def validate_patient_data_for_ai(patient: Patient) -> tuple[bool, dict[str, bool]]:
    """The specification's Best Practices check: enough data for a useful proposal?

    Returns `(ok, checks)`; `checks` maps `vitals` (at least three readings), `diagnoses` and
    `medical_history` to whether the record has them.
    """
    checks = {
        "vitals": VitalSign.objects.filter(encounter__patient=patient)[:MIN_VITALS_FOR_AI].count()
        >= MIN_VITALS_FOR_AI,
        "diagnoses": Diagnosis.objects.filter(encounter__patient=patient).exists(),
        "medical_history": MedicalHistory.objects.filter(patient=patient).exists(),
    }
    return all(checks.values()), checks


MISSING_DESCRIPTIONS = {
    "vitals": f"at least {MIN_VITALS_FOR_AI} vital-sign readings",
    "diagnoses": "a diagnosis",
    "medical_history": "a medical history entry",
}


def describe_missing(checks: dict[str, bool]) -> tuple[list[str], str]:
    missing = [key for key, ok in checks.items() if not ok]
    parts = [MISSING_DESCRIPTIONS.get(key, key) for key in missing]
    if not parts:
        return [], ""
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return missing, (
        f"Insufficient patient data for treatment plan: the record needs {listed} "
        "before an AI proposal can be generated."
    )
