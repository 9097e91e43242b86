"""Benchmark (d): what each list and dashboard page costs as the data grows.

Builds (bulk_create) a clinic with `--patients` 2,000 patients, `--proposals` 20,000 AI proposals
and `--plans` 20,000 treatment plans, all in the care of one doctor (the worst case for her
pages), plus a patient with 50 published plans; then times every list and dashboard page with
the test client (median of `--repeat` loads) and counts its queries. It does the same at 1/100 of
the size first: the query counts must be equal (independent of data size) and lists paginated.

    .venv/bin/python bench/page_cost.py [--repeat 15] [--postgres postgres://.../x]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import django_in_process  # noqa: E402


def build(patients: int, proposals: int, plans: int, tag: str) -> dict:
    from django.utils import timezone

    from healthcare import models as m
    from healthcare.tests.factories import (
        DoctorProfileFactory,
        PatientProfileFactory,
    )

    doctor = DoctorProfileFactory().user.provider
    people = m.Patient.objects.bulk_create(
        m.Patient(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            date_of_birth=date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
            sex="F" if i % 2 else "M",
            mrn=f"{tag}-{i:07d}",
            primary_doctor=doctor,
        )
        for i in range(patients)
    )
    encounters = m.Encounter.objects.bulk_create(
        m.Encounter(patient=p, provider=doctor, chief_complaint="Follow-up") for p in people
    )
    m.VitalSign.objects.bulk_create(
        m.VitalSign(
            encounter=e,
            recorded_at=timezone.now() - timedelta(hours=i % 48),
            blood_pressure_systolic=120 + i % 80,
            blood_pressure_diastolic=80,
            heart_rate=70 + i % 60,
            oxygen_saturation=88 + i % 12,
        )
        for i, e in enumerate(encounters)
    )
    statuses = ["pending", "reviewed", "accepted", "modified", "rejected"]
    gen = ["completed", "completed", "completed", "incomplete", "failed"]
    m.AIProposedTreatmentPlan.objects.bulk_create(
        m.AIProposedTreatmentPlan(
            patient=people[i % patients],
            provider=doctor,
            status=statuses[i % 5],
            generation_status=gen[(i // 5) % 5],
            proposed_treatment="ASSESSMENT\\nText " * 20,
            clinical_assessment="Hypertension.",
            completed_at=timezone.now() - timedelta(minutes=i),
        )
        for i in range(proposals)
    )
    plan_status = ["draft", "active", "completed", "cancelled"]
    m.DoctorTreatmentPlan.objects.bulk_create(
        m.DoctorTreatmentPlan(
            patient=people[i % patients],
            provider=doctor,
            plan_title=f"Plan {i}",
            assessment="Assessment text.",
            status=plan_status[i % 4],
            is_visible_to_patient=i % 4 != 0,
            published_at=timezone.now() if i % 4 else None,
        )
        for i in range(plans)
    )
    portal = PatientProfileFactory(patient__primary_doctor=doctor).user.patient
    m.DoctorTreatmentPlan.objects.bulk_create(
        m.DoctorTreatmentPlan(
            patient=portal,
            provider=doctor,
            plan_title=f"My plan {i}",
            assessment="Assessment text.",
            status="active" if i == 0 else "completed",
            is_visible_to_patient=True,
            published_at=timezone.now(),
        )
        for i in range(50)
    )
    return {
        "doctor": doctor,
        "patient": portal,
        "some_patient": people[0],
        "proposal": m.AIProposedTreatmentPlan.objects.filter(provider=doctor).first(),
        "plan": m.DoctorTreatmentPlan.objects.filter(provider=doctor).first(),
        "portal_plan": m.DoctorTreatmentPlan.objects.filter(patient=portal).first(),
    }


def pages(world: dict) -> list[tuple[str, str, str]]:
    from django.urls import reverse

    p = world["some_patient"].pk
    return [
        ("doctor", "doctor dashboard", reverse("doctor_dashboard")),
        ("doctor", "patients list", reverse("doctor_patients_list")),
        ("doctor", "patients list (search)", reverse("doctor_patients_list") + "?q=Last1"),
        ("doctor", "patient chart", reverse("doctor_patient_chart", args=[p])),
        ("doctor", "AI proposals list", reverse("doctor_ai_proposals")),
        ("doctor", "AI proposals list p.50", reverse("doctor_ai_proposals") + "?page=50"),
        (
            "doctor",
            "AI proposal detail",
            reverse("doctor_view_ai_proposal", args=[world["proposal"].pk]),
        ),
        ("doctor", "treatment plans list", reverse("doctor_treatment_plans")),
        (
            "doctor",
            "treatment plan detail",
            reverse("doctor_view_treatment_plan", args=[world["plan"].pk]),
        ),
        ("doctor", "generate page", reverse("doctor_generate_ai_proposal", args=[p])),
        (
            "doctor",
            "generation status (JSON)",
            reverse("doctor_ai_proposal_status", args=[world["proposal"].pk]),
        ),
        ("patient", "patient dashboard", reverse("patient_dashboard")),
        ("patient", "patient plans list", reverse("patient_treatment_plans")),
    ]


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(world: dict, repeat: int) -> dict:
    from django.db import connection
    from django.test import Client

    clients = {"doctor": Client(HTTP_HOST="localhost"), "patient": Client(HTTP_HOST="localhost")}
    clients["doctor"].force_login(world["doctor"].user)
    clients["patient"].force_login(world["patient"].user)
    out = {}
    for who, name, url in pages(world):
        client = clients[who]
        client.get(url)  # warm
        counter = QueryCounter()
        # (CaptureQueriesContext loses them: each request resets the query log.)
        with connection.execute_wrapper(counter):
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {response.status_code}")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - started)
        out[name] = {
            "queries": counter.count,
            "median_ms": round(statistics.median(times) * 1000, 1),
            "bytes": len(response.content),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--proposals", type=int, default=20000)
    parser.add_argument("--plans", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", help="base postgres:// URL (a throwaway DB is created)")
    args = parser.parse_args()
    with django_in_process(args.postgres, AXES_ENABLED="False"):
        results = {}
        for label, scale in (("1/100", 100), ("full", 1)):
            started = time.perf_counter()
            world = build(
                max(1, args.patients // scale),
                max(1, args.proposals // scale),
                max(1, args.plans // scale),
                tag=label.replace("/", "_"),
            )
            built = time.perf_counter() - started
            results[label] = measure(world, args.repeat)
            results[label]["_build_s"] = round(built, 1)
    print(json.dumps(results, indent=2))
    print()
    print(f"{'page':28} {'queries 1/100':>13} {'queries full':>12} {'ms 1/100':>9} {'ms full':>8}")
    same = True
    for name, full in results["full"].items():
        if name.startswith("_"):
            continue
        small = results["1/100"][name]
        same &= small["queries"] == full["queries"]
        print(
            f"{name:28} {small['queries']:>13} {full['queries']:>12} {small['median_ms']:>9} "
            f"{full['median_ms']:>8}"
        )
    print(
        f"data: {args.patients} patients, {args.proposals} proposals, {args.plans} plans "
        f"(+ the 1/100 set); query counts independent of size: {'yes' if same else 'NO'}"
    )


if __name__ == "__main__":
    main()
