"""Benchmark (c): what the generator costs besides the model (gather, prompt, parse, save).

For one patient whose record has 10, 1,000 and 10,000 rows (vitals, labs, diagnoses, history,
medications, allergies), runs the real TreatmentPlanGenerator against an Ollama client that
answers instantly, and prints the median time of each step and the query count. The target is
a query count that does not grow with the record and an overhead under 2% of the model's own
time for a typical proposal (`--model-seconds`, default 60: see docs/benchmarks.md (b)).

    .venv/bin/python bench/generator_overhead.py [--repeat 5] [--model-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import django_in_process  # noqa: E402

REPLY = json.dumps(
    {
        "clinical_assessment": "Blood pressure above target; diabetes not at goal.",
        "treatment_goals": "BP below 130/80 within 3 months; HbA1c below 7%.",
        "medications": "Increase lisinopril to 20 mg daily; continue metformin 1000 mg BID.",
        "lifestyle_recommendations": "Salt under 5 g a day; walk 30 minutes most days.",
        "follow_up": "BP check in 2 weeks; labs in 3 months.",
        "warnings_and_precautions": "Penicillin allergy. Watch potassium and creatinine.",
    }
)


REST_CAP = 20


class InstantClient:
    """Answers like OllamaAPIClient.generate, at once: what is left is the generator's own cost."""

    model = "llama3.2"

    def generate(self, prompt, stream=False, options=None, *, on_chunk=None, **kwargs) -> dict:
        if on_chunk is not None:
            on_chunk(REPLY[: len(REPLY) // 2])
        return {
            "response": REPLY,
            "prompt_tokens": len(prompt) // 3,
            "completion_tokens": 120,
            "generation_time": 0.0,
            "done_reason": "stop",
            "prompt_truncated": False,
            "total_duration": 0,
            "load_duration": 0,
            "prompt_eval_duration": 0,
            "eval_duration": 0,
            "model": "llama3.2",
            "server": "http://127.0.0.1:1",
        }

    def model_digest(self, *args, **kwargs) -> str:
        return "0" * 64

    def server_version(self, *args, **kwargs) -> str:
        return "bench"


def make_record(rows: int):
    """A patient with about `rows` rows: vitals, labs and diagnoses (a visit with vitals every
    4 readings) make up the bulk; history, family history, medications and allergies grow to
    at most `--rest-cap` (20) each, as in real charts, and never below what readiness needs.
    (The prompt carries all history and medications: 500 of each do not fit any context.)"""
    from django.utils import timezone

    from healthcare import models as m
    from healthcare.tests.factories import PatientFactory, ProviderFactory

    doctor = ProviderFactory()
    patient = PatientFactory(primary_doctor=doctor)
    n_vitals = max(3, rows * 4 // 10)
    n_labs = max(1, rows * 3 // 10)
    n_dx = max(1, rows // 10)
    n_rest = max(1, min(REST_CAP, rows // 20))
    encounters = m.Encounter.objects.bulk_create(
        m.Encounter(
            patient=patient,
            provider=doctor,
            encounter_date=timezone.now() - timedelta(days=i),
            chief_complaint=f"Follow-up visit {i}",
        )
        for i in range(max(1, n_vitals // 4))
    )
    now = timezone.now()
    m.VitalSign.objects.bulk_create(
        m.VitalSign(
            encounter=encounters[i % len(encounters)],
            recorded_at=now - timedelta(hours=i),
            blood_pressure_systolic=120 + i % 60,
            blood_pressure_diastolic=70 + i % 30,
            heart_rate=60 + i % 50,
            oxygen_saturation=95,
            temperature=Decimal("36.8"),
        )
        for i in range(n_vitals)
    )
    m.LabTest.objects.bulk_create(
        m.LabTest(
            patient=patient,
            test_name=f"Test {i % 40}",
            ordered_date=date.today() - timedelta(days=i),
            result_date=date.today() - timedelta(days=i),
            result_value=str(i % 13),
            unit="mg/dL",
            reference_range="1-10",
        )
        for i in range(n_labs)
    )
    m.Diagnosis.objects.bulk_create(
        m.Diagnosis(
            encounter=encounters[i % len(encounters)],
            description=f"Condition {i}",
            icd10_code="I10",
            diagnosed_date=date.today() - timedelta(days=i),
        )
        for i in range(n_dx)
    )
    m.MedicalHistory.objects.bulk_create(
        m.MedicalHistory(patient=patient, condition=f"Past condition {i}") for i in range(n_rest)
    )
    m.FamilyHistory.objects.bulk_create(
        m.FamilyHistory(patient=patient, relationship="father", condition=f"Condition {i}")
        for i in range(n_rest)
    )
    m.Prescription.objects.bulk_create(
        m.Prescription(
            patient=patient,
            provider=doctor,
            medication_name=f"Drug {i}",
            dosage="10 mg",
            frequency="daily",
        )
        for i in range(n_rest)
    )
    m.Allergy.objects.bulk_create(
        m.Allergy(patient=patient, allergen=f"Allergen {i}", reaction="rash") for i in range(n_rest)
    )
    total = sum(
        model.objects.filter(**flt).count()
        for model, flt in [
            (m.Encounter, {"patient": patient}),
            (m.VitalSign, {"encounter__patient": patient}),
            (m.LabTest, {"patient": patient}),
            (m.Diagnosis, {"encounter__patient": patient}),
            (m.MedicalHistory, {"patient": patient}),
            (m.FamilyHistory, {"patient": patient}),
            (m.Prescription, {"patient": patient}),
            (m.Allergy, {"patient": patient}),
        ]
    )
    return patient, doctor, total


def timed(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - started
    return value, elapsed, len(queries.captured_queries)


def run(sizes: list[int], repeat: int) -> list[dict]:
    from healthcare.ai_treatment_generator import TreatmentPlanGenerator
    from healthcare.models import AIProposedTreatmentPlan

    rows = []
    for size in sizes:
        patient, doctor, total = make_record(size)
        generator = TreatmentPlanGenerator(client=InstantClient())
        steps: dict[str, list[float]] = {"gather": [], "prompt": [], "parse": [], "whole": []}
        counts: dict[str, int] = {}
        for _ in range(repeat):
            data, t, q = timed(lambda p=patient, g=generator: g.gather_patient_data(p))
            steps["gather"].append(t)
            counts["gather"] = q
            _, t, _ = timed(lambda d=data, g=generator: g.prepare_prompt(d))
            steps["prompt"].append(t)
            _, t, _ = timed(lambda g=generator: g.parse_ai_response(REPLY))
            steps["parse"].append(t)
            proposal = AIProposedTreatmentPlan.objects.create(
                patient=patient, provider=doctor, generation_status="queued"
            )
            _, t, q = timed(
                lambda p=patient, d=doctor, pr=proposal, g=generator: g.generate_treatment_plan(
                    p, d, proposal=pr
                )
            )
            steps["whole"].append(t)
            counts["whole"] = q
            assert AIProposedTreatmentPlan.objects.get(pk=proposal.pk).is_generation_finished
        med = {k: statistics.median(v) * 1000 for k, v in steps.items()}
        rows.append(
            {
                "rows": total,
                "gather_ms": round(med["gather"], 1),
                "gather_queries": counts["gather"],
                "prompt_ms": round(med["prompt"], 1),
                "parse_ms": round(med["parse"], 2),
                "save_and_rest_ms": round(
                    med["whole"] - med["gather"] - med["prompt"] - med["parse"], 1
                ),
                "whole_ms": round(med["whole"], 1),
                "whole_queries": counts["whole"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model-seconds", type=float, default=60.0)
    parser.add_argument("--rest-cap", type=int, default=REST_CAP)
    args = parser.parse_args()
    globals()["REST_CAP"] = args.rest_cap
    with django_in_process():
        rows = run([int(x) for x in args.sizes.split(",")], args.repeat)
    print(json.dumps(rows, indent=2))
    print()
    print(f"{'rows':>7} {'gather ms':>10} {'queries':>8} {'prompt ms':>10} {'parse ms':>9} "
          f"{'save+ ms':>9} {'whole ms':>9} {'queries':>8} {'% of model':>10}")  # fmt: skip
    for r in rows:
        share = r["whole_ms"] / (args.model_seconds * 1000) * 100
        print(
            f"{r['rows']:>7} {r['gather_ms']:>10} {r['gather_queries']:>8} {r['prompt_ms']:>10} "
            f"{r['parse_ms']:>9} {r['save_and_rest_ms']:>9} {r['whole_ms']:>9} "
            f"{r['whole_queries']:>8} {share:>9.2f}%"
        )
    constant = len({r["whole_queries"] for r in rows}) == 1
    worst = max(r["whole_ms"] for r in rows) / (args.model_seconds * 1000) * 100
    print(f"query count constant: {'yes' if constant else 'NO'}; worst overhead {worst:.2f}% of "
          f"a {args.model_seconds:g} s generation (target < 2%)")  # fmt: skip


if __name__ == "__main__":
    main()
