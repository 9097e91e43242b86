"""`python manage.py seed_demo`: load the demo logins and clinical records.

Idempotent: logins are keyed on the username, doctors on the NPI, patients on the MRN. A
patient's record (encounters, vitals, diagnoses, labs, history, allergies, prescriptions) is
written once, in one transaction, when the patient is first created; a second run adds nothing.
The data itself lives in `healthcare/demo_data.py`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone

from healthcare import demo_data
from healthcare.models import (
    Allergy,
    Diagnosis,
    Encounter,
    FamilyHistory,
    LabTest,
    MedicalHistory,
    Patient,
    Prescription,
    Provider,
    SocialHistory,
    UserProfile,
    VitalSign,
)

Role = UserProfile.Role


@dataclass
class Login:
    username: str
    role: str
    name: str
    about: str


class Seeder:
    def __init__(self, password: str, now: datetime | None = None):
        self.password = password
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.created: Counter[str] = Counter()
        self.logins: list[Login] = []

    # --- Helpers ----------------------------------------------------------------------------
    def _save(self, obj: models.Model) -> models.Model:
        """Validate like a form would, then save; the demo data obeys the model's rules."""
        obj.full_clean()
        obj.save()
        self.created[type(obj).__name__] += 1
        return obj

    def _day(self, when: date | timedelta | None) -> date | None:
        if isinstance(when, timedelta):
            return timezone.localdate(self.now - when)
        return when

    def check_password(self) -> None:
        """Refuse a password the validators would refuse, before anything is written."""
        User = get_user_model()  # noqa: N806 - Django's convention
        people = [demo_data.ADMIN, *demo_data.DOCTORS, *demo_data.PATIENTS]
        for person in people:
            probe = User(
                username=person.username,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
            )
            try:
                validate_password(self.password, probe)
            except ValidationError as exc:
                raise CommandError(
                    f"The demo password is refused for {person.username}: {' '.join(exc.messages)}"
                ) from exc

    def _user(self, spec, *, superuser: bool = False):
        User = get_user_model()  # noqa: N806
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": spec.email,
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        changed = created
        if created:
            self.created["User"] += 1
        if superuser and not (user.is_staff and user.is_superuser and user.is_active):
            user.is_staff = user.is_superuser = user.is_active = True
            changed = True
        if created or not user.check_password(self.password):
            user.set_password(self.password)
            changed = True
        if changed:
            user.save()
        return user

    def _profile(self, user, role: str) -> UserProfile:
        profile = UserProfile.objects.filter(user=user).first()
        if profile is None:
            return self._save(UserProfile(user=user, role=role))
        if profile.role != role:
            raise CommandError(
                f"User {user.username} already exists with the role {profile.role}, not {role}; "
                "rename or remove it before seeding the demo."
            )
        return profile

    # --- People -----------------------------------------------------------------------------
    def seed_admin(self) -> None:
        spec = demo_data.ADMIN
        user = self._user(spec, superuser=True)
        self._profile(user, Role.ADMIN)
        self.logins.append(
            Login(spec.username, Role.ADMIN, f"{spec.first_name} {spec.last_name}", "/admin/")
        )

    def seed_doctors(self) -> dict[str, Provider]:
        providers = {}
        for spec in demo_data.DOCTORS:
            user = self._user(spec)
            provider = Provider.objects.filter(npi=spec.npi).first()
            if provider is None:
                provider = self._save(
                    Provider(
                        user=user,
                        first_name=spec.first_name,
                        last_name=spec.last_name,
                        specialty=spec.specialty,
                        npi=spec.npi,
                        email=spec.email,
                        phone=spec.phone,
                    )
                )
            elif provider.user_id != user.pk:
                provider.user = user
                provider.save(update_fields=["user", "updated_at"])
            self._profile(user, Role.DOCTOR)
            providers[spec.username] = provider
            self.logins.append(
                Login(spec.username, Role.DOCTOR, f"Dr. {provider.full_name}", spec.specialty)
            )
        return providers

    def seed_patients(self, providers: dict[str, Provider]) -> None:
        for spec in demo_data.PATIENTS:
            with transaction.atomic():
                user = self._user(spec)
                patient = Patient.objects.filter(mrn=spec.mrn).first()
                if patient is None:
                    patient = self._save(
                        Patient(
                            user=user,
                            first_name=spec.first_name,
                            last_name=spec.last_name,
                            date_of_birth=spec.date_of_birth,
                            sex=spec.sex,
                            mrn=spec.mrn,
                            primary_doctor=providers[spec.doctor],
                            phone=spec.phone,
                            email=spec.email,
                            address=spec.address,
                        )
                    )
                    self.seed_record(patient, spec, providers)
                elif patient.user_id != user.pk:
                    patient.user = user
                    patient.save(update_fields=["user", "updated_at"])
                self._profile(user, Role.PATIENT)
            self.logins.append(
                Login(spec.username, Role.PATIENT, patient.full_name, f"{spec.mrn}: {spec.summary}")
            )

    # --- One patient's record ---------------------------------------------------------------
    def seed_record(self, patient: Patient, spec, providers: dict[str, Provider]) -> None:
        for visit in spec.visits:
            self.seed_visit(patient, visit, providers[visit.doctor or spec.doctor])
        for item in spec.history:
            self._save(
                MedicalHistory(
                    patient=patient,
                    condition=item.condition,
                    diagnosed_date=self._day(item.diagnosed),
                    status=item.status,
                    notes=item.notes,
                )
            )
        for item in spec.family:
            self._save(
                FamilyHistory(
                    patient=patient,
                    relationship=item.relationship,
                    condition=item.condition,
                    age_at_diagnosis=item.age_at_diagnosis,
                )
            )
        social = spec.social
        self._save(
            SocialHistory(
                patient=patient,
                smoking_status=social.smoking,
                pack_years=Decimal(social.pack_years) if social.pack_years else None,
                alcohol_use=social.alcohol,
                drug_use=social.drugs,
                exercise=social.exercise,
                diet=social.diet,
                occupation=social.occupation,
                notes=social.notes,
            )
        )
        for item in spec.allergies:
            self._save(
                Allergy(
                    patient=patient,
                    allergen=item.allergen,
                    allergy_type=item.type,
                    severity=item.severity,
                    reaction=item.reaction,
                    onset_date=item.onset,
                )
            )

    def seed_visit(self, patient: Patient, visit, provider: Provider) -> None:
        start = self.now - visit.ago
        encounter = self._save(
            Encounter(
                patient=patient,
                provider=provider,
                encounter_date=start,
                encounter_type=visit.type,
                chief_complaint=visit.complaint,
                notes=visit.notes,
            )
        )
        day = timezone.localdate(start)
        for v in visit.vitals:
            self._save(
                VitalSign(
                    encounter=encounter,
                    recorded_at=min(start + timedelta(minutes=v.minutes), self.now),
                    blood_pressure_systolic=v.systolic,
                    blood_pressure_diastolic=v.diastolic,
                    heart_rate=v.heart_rate,
                    respiratory_rate=v.respiratory_rate,
                    temperature=Decimal(v.temperature),
                    oxygen_saturation=v.spo2,
                    weight_kg=Decimal(v.weight_kg) if v.weight_kg else None,
                    height_cm=Decimal(v.height_cm) if v.height_cm else None,
                    blood_glucose=Decimal(v.glucose) if v.glucose else None,
                )
            )
        for dx in visit.diagnoses:
            self._save(
                Diagnosis(
                    encounter=encounter,
                    description=dx.description,
                    icd10_code=dx.icd10,
                    diagnosis_type=dx.type,
                    status=dx.status,
                    diagnosed_date=day,
                    notes=dx.notes,
                )
            )
        for lab in visit.labs:
            self._save(
                LabTest(
                    patient=patient,
                    encounter=encounter,
                    test_name=lab.name,
                    test_code=lab.loinc,
                    ordered_date=day,
                    result_date=min(day + timedelta(days=lab.result_after_days), self.today),
                    result_value=lab.value,
                    unit=lab.unit,
                    reference_range=lab.reference_range,
                    abnormal_flag=lab.flag,
                    status=LabTest.Status.COMPLETED,
                )
            )
        for rx in visit.prescriptions:
            end = day + timedelta(days=rx.end_after_days) if rx.end_after_days else None
            status = rx.status
            if status == Prescription.Status.ACTIVE and end is not None and end < self.today:
                status = Prescription.Status.COMPLETED
            self._save(
                Prescription(
                    patient=patient,
                    provider=provider,
                    encounter=encounter,
                    medication_name=rx.medication,
                    dosage=rx.dosage,
                    frequency=rx.frequency,
                    route=rx.route,
                    start_date=day,
                    end_date=end,
                    status=status,
                    instructions=rx.instructions,
                )
            )

    def run(self) -> None:
        self.check_password()
        with transaction.atomic():
            self.seed_admin()
            providers = self.seed_doctors()
            self.seed_patients(providers)


class Command(BaseCommand):
    help = "Create the demo admin, doctors and patients with their records (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=demo_data.DEMO_PASSWORD,
            help=f"Password for every demo login (default: {demo_data.DEMO_PASSWORD}).",
        )

    def handle(self, *args, **options):
        seeder = Seeder(options["password"])
        seeder.run()
        if seeder.created:
            made = ", ".join(f"{count} {name}" for name, count in sorted(seeder.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Created: {made}."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo data already present: nothing created."))
        self.stdout.write(self.format_logins(seeder.logins, options["password"]))

    @staticmethod
    def format_logins(logins: list[Login], password: str) -> str:
        header = ("Username", "Role", "Password", "Name", "About")
        rows = [(x.username, x.role, password, x.name, x.about) for x in logins]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

        def line(cells) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [
            "",
            "Demo logins (log in at /accounts/login/):",
            line(header),
            line("-" * w for w in widths),
            *(line(row) for row in rows),
            "",
        ]
        return "\n".join(out)
