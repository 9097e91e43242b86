"""AI proposals for patients with critical vitals (the specification's batch command).

    manage.py generate_treatment_proposals [--since 24] [--systolic 180] [--heart-rate 120]
        [--spo2 90] [--dry-run] [--sync]

Selects patients with a vital sign in the window at or beyond any threshold (in a fixed number
of queries, whatever their number), skips those who already have a proposal today (a failed
attempt does not count: rerunning after an Ollama outage retries it), and queues one proposal
each for the doctor of the encounter (else the primary doctor). `--sync` runs the generator
here instead of queueing. One line per patient (ids only, no names: terminals and logs are
not the chart), then a summary; the exit code is 1 when any generation failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from healthcare.models import AIProposedTreatmentPlan, Patient, Provider, VitalSign
from healthcare.services.generation import request_generation, run_generation

GS = AIProposedTreatmentPlan.GenerationStatus


@dataclass
class Candidate:
    patient_id: int
    provider_id: int | None
    vital_id: int
    findings: list[str]
    has_proposal_today: bool = False
    failed_today_id: int | None = None


def parse_since(value: str) -> datetime:
    """Hours back (e.g. 24, 1.5) or an ISO datetime (2026-12-04T08:00, with or without zone)."""
    try:
        hours = float(value)
    except ValueError:
        moment = parse_datetime(value)
        if moment is None:
            raise CommandError(
                f"--since {value!r}: give hours (e.g. 24) or an ISO datetime (2026-12-04T08:00)."
            ) from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
    if hours <= 0:
        raise CommandError("--since must be a positive number of hours.")
    return timezone.now() - timedelta(hours=hours)


def start_of_today() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def select_candidates(
    since: datetime, *, systolic: int, heart_rate: int, spo2: int
) -> list[Candidate]:
    """Patients with critical vitals since `since`, newest finding first. Two queries."""
    critical = (
        Q(blood_pressure_systolic__gte=systolic)
        | Q(heart_rate__gte=heart_rate)
        | Q(oxygen_saturation__lte=spo2)
    )
    rows = (
        VitalSign.objects.filter(critical, recorded_at__gte=since)
        .order_by("encounter__patient_id", "-recorded_at")
        .values_list(
            "vital_id",
            "encounter__patient_id",
            "encounter__provider_id",
            "encounter__patient__primary_doctor_id",
            "blood_pressure_systolic",
            "heart_rate",
            "oxygen_saturation",
        )
    )
    by_patient: dict[int, Candidate] = {}
    for vital_id, patient_id, enc_doctor, primary, sbp, hr, sat in rows:
        if patient_id in by_patient:
            continue  # the newest critical reading decides
        findings = []
        if sbp is not None and sbp >= systolic:
            findings.append(f"systolic {sbp}")
        if hr is not None and hr >= heart_rate:
            findings.append(f"heart rate {hr}")
        if sat is not None and sat <= spo2:
            findings.append(f"SpO2 {sat}")
        by_patient[patient_id] = Candidate(patient_id, enc_doctor or primary, vital_id, findings)
    today = AIProposedTreatmentPlan.objects.filter(
        patient_id__in=list(by_patient), created_at__gte=start_of_today()
    ).values_list("patient_id", "generation_status", "proposal_id")
    for patient_id, status, proposal_id in today:
        candidate = by_patient[patient_id]
        if status == GS.FAILED:
            candidate.failed_today_id = candidate.failed_today_id or proposal_id
        else:
            candidate.has_proposal_today = True
    return list(by_patient.values())


@dataclass
class Rows:
    """The candidates' patients, doctors and failed attempts of today, by id."""

    patients: dict[int, Patient]
    providers: dict[int, Provider]
    failed_today: dict[int, AIProposedTreatmentPlan]

    @classmethod
    def load(cls, candidates: list[Candidate]) -> Rows:
        """Three queries for the whole batch, not three per patient."""
        return cls(
            Patient.objects.in_bulk([c.patient_id for c in candidates]),
            Provider.objects.in_bulk({c.provider_id for c in candidates if c.provider_id}),
            AIProposedTreatmentPlan.objects.in_bulk(
                [c.failed_today_id for c in candidates if c.failed_today_id]
            ),
        )


class Command(BaseCommand):
    help = "Generate AI treatment proposals for patients with critical vitals (last 24 h)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            default="24",
            help="Window start: hours back (default 24) or an ISO datetime.",
        )
        parser.add_argument(
            "--systolic",
            type=int,
            default=VitalSign.CRITICAL_SYSTOLIC,
            help=f"Systolic BP >= ({VitalSign.CRITICAL_SYSTOLIC}).",
        )
        parser.add_argument(
            "--heart-rate",
            type=int,
            default=VitalSign.CRITICAL_HEART_RATE,
            help=f"Heart rate >= ({VitalSign.CRITICAL_HEART_RATE}).",
        )
        parser.add_argument(
            "--spo2",
            type=int,
            default=VitalSign.CRITICAL_SPO2,
            help=f"SpO2 <= ({VitalSign.CRITICAL_SPO2}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List who would get one; change nothing."
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Generate here, one after another, instead of queueing for the worker.",
        )

    def handle(self, *args, **options) -> None:
        since = parse_since(options["since"])
        candidates = select_candidates(
            since,
            systolic=options["systolic"],
            heart_rate=options["heart_rate"],
            spo2=options["spo2"],
        )
        self.stdout.write(
            f"{len(candidates)} patient(s) with critical vitals since "
            f"{timezone.localtime(since):%Y-%m-%d %H:%M %Z}"
            f"{' (dry run: nothing is changed)' if options['dry_run'] else ''}"
        )
        counts = {"queued": 0, "completed": 0, "incomplete": 0, "skipped": 0, "failed": 0}
        try:
            rows = Rows({}, {}, {}) if options["dry_run"] else Rows.load(candidates)
        except DatabaseError as exc:
            raise CommandError(
                f"Database error ({type(exc).__name__}): nothing was queued."
            ) from None
        for candidate in candidates:
            outcome, detail = self.handle_one(candidate, options, rows)
            counts[outcome] += 1
            style = {"failed": self.style.ERROR, "skipped": self.style.WARNING}.get(
                outcome, self.style.SUCCESS
            )
            self.stdout.write(
                style(
                    f"patient {candidate.patient_id} ({', '.join(candidate.findings)}): "
                    f"{outcome}{': ' + detail if detail else ''}"
                )
            )
        would = "would be " if options["dry_run"] else ""
        summary = ", ".join(f"{n} {would}{k}" for k, n in counts.items() if n) or "nothing to do"
        self.stdout.write(f"Summary: {len(candidates)} patient(s); {summary}.")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} generation(s) failed.", returncode=1)

    def handle_one(self, candidate: Candidate, options, rows: Rows) -> tuple[str, str]:
        if candidate.has_proposal_today:
            return "skipped", "already has a proposal today"
        if candidate.provider_id is None:
            return "skipped", "no doctor to review it (no encounter doctor or primary doctor)"
        if options["dry_run"]:
            return ("completed" if options["sync"] else "queued"), "dry run"
        try:
            started = request_generation(
                rows.patients[candidate.patient_id],
                rows.providers[candidate.provider_id],
                retry_of=rows.failed_today.get(candidate.failed_today_id),
                source="batch",
                enqueue=not options["sync"],
            )
        except DatabaseError as exc:
            return "failed", f"database error ({type(exc).__name__})"
        proposal = started.proposal
        if not started.created:
            return "skipped", f"proposal {proposal.pk} already in progress"
        if started.enqueue_failed:
            return "failed", f"proposal {proposal.pk}: {proposal.failure_reason}"
        if not options["sync"]:
            return "queued", f"proposal {proposal.pk}"
        status = run_generation(proposal.pk)["generation_status"]
        proposal.refresh_from_db()
        if status in (GS.COMPLETED, GS.INCOMPLETE):
            return str(status), f"proposal {proposal.pk}"
        return "failed", f"proposal {proposal.pk}: {proposal.failure_reason or status}"
