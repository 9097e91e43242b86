"""The clinical record: who the patients and doctors are and what was measured.

Field names follow the specification (`../shared/spec/AI_TREATMENT_PLAN_SYSTEM.md`), which
the treatment-plan generator and the batch command read.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

# ICD-10-CM: a letter, two characters, then optionally a dot and one to four characters.
# (U codes are reserved for special purposes but valid, e.g. U07.1 for COVID-19.)
icd10_validator = RegexValidator(
    regex=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$",
    message="Enter a valid ICD-10 code such as I10, E11.9 or J44.1 (letter, two characters, "
    "optional dot and up to four more).",
)
npi_validator = RegexValidator(regex=r"^\d{10}$", message="An NPI is exactly ten digits.")


def _range(low, high, what):
    return [
        MinValueValidator(low, message=f"{what} must be at least {low}."),
        MaxValueValidator(high, message=f"{what} must be at most {high}."),
    ]


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Provider(TimestampedModel):
    provider_id = models.BigAutoField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="provider",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    specialty = models.CharField(max_length=100, blank=True)
    npi = models.CharField(
        "NPI", max_length=10, unique=True, null=True, blank=True, validators=[npi_validator]
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"Dr. {self.full_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Patient(TimestampedModel):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "O", "Other"
        UNKNOWN = "U", "Unknown"

    patient_id = models.BigAutoField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    mrn = models.CharField("MRN", max_length=32, unique=True)
    primary_doctor = models.ForeignKey(
        Provider,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_patients",
    )
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["primary_doctor", "last_name"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    @property
    def gender(self) -> str:
        """The specification says "gender"; the record keeps sex. Same value, for the spec."""
        return self.get_sex_display()

    def clean(self) -> None:
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": "Date of birth cannot be in the future."})
        if self.date_of_birth and self.date_of_birth.year < 1890:
            raise ValidationError({"date_of_birth": "Date of birth is before 1890."})


class Encounter(TimestampedModel):
    class EncounterType(models.TextChoices):
        OFFICE = "office", "Office visit"
        TELEHEALTH = "telehealth", "Telehealth"
        EMERGENCY = "emergency", "Emergency"
        INPATIENT = "inpatient", "Inpatient"
        FOLLOW_UP = "follow_up", "Follow-up"

    encounter_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="encounters"
    )
    encounter_date = models.DateTimeField(default=timezone.now)
    encounter_type = models.CharField(
        max_length=20, choices=EncounterType.choices, default=EncounterType.OFFICE
    )
    chief_complaint = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-encounter_date"]
        indexes = [
            models.Index(fields=["patient", "-encounter_date"]),
            models.Index(fields=["provider", "patient"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_encounter_type_display()} {self.encounter_date:%Y-%m-%d}"


class VitalSign(TimestampedModel):
    class TemperatureUnit(models.TextChoices):
        CELSIUS = "C", "°C"
        FAHRENHEIT = "F", "°F"

    vital_id = models.BigAutoField(primary_key=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="vital_signs")
    recorded_at = models.DateTimeField(default=timezone.now)
    blood_pressure_systolic = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_range(40, 300, "Systolic blood pressure")
    )
    blood_pressure_diastolic = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_range(20, 200, "Diastolic blood pressure")
    )
    heart_rate = models.SmallIntegerField(
        null=True, blank=True, validators=_range(20, 300, "Heart rate")
    )
    respiratory_rate = models.SmallIntegerField(
        null=True, blank=True, validators=_range(4, 80, "Respiratory rate")
    )
    temperature = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    temperature_unit = models.CharField(
        max_length=1, choices=TemperatureUnit.choices, default=TemperatureUnit.CELSIUS
    )
    oxygen_saturation = models.SmallIntegerField(
        "SpO₂ (%)", null=True, blank=True, validators=_range(0, 100, "Oxygen saturation")
    )
    weight_kg = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True, validators=_range(0.2, 650, "Weight")
    )
    height_cm = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=_range(20, 272, "Height")
    )
    bmi = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    blood_glucose = models.DecimalField(
        "Blood glucose (mg/dL)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(10, 2000, "Blood glucose"),
    )

    # The values measured at a reading, in chart order (BMI is computed on save, so not here).
    MEASUREMENT_FIELDS = (
        "blood_pressure_systolic",
        "blood_pressure_diastolic",
        "heart_rate",
        "respiratory_rate",
        "temperature",
        "temperature_unit",
        "oxygen_saturation",
        "weight_kg",
        "height_cm",
        "blood_glucose",
    )

    # Plausible body temperatures by unit (hypothermia to hyperpyrexia).
    TEMPERATURE_LIMITS = {"C": (Decimal("25"), Decimal("45")), "F": (Decimal("77"), Decimal("113"))}

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [
            models.Index(fields=["encounter", "-recorded_at"]),
            models.Index(fields=["recorded_at"]),
        ]

    def __str__(self) -> str:
        return f"Vitals {self.recorded_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.bmi is None:
            self.bmi = self.compute_bmi()
        super().save(*args, **kwargs)

    @property
    def patient(self) -> Patient:
        return self.encounter.patient

    @property
    def blood_pressure(self) -> str:
        if self.blood_pressure_systolic and self.blood_pressure_diastolic:
            return f"{self.blood_pressure_systolic}/{self.blood_pressure_diastolic}"
        return ""

    # The specification's "critical vitals" (its batch command); the chart flags these and more.
    CRITICAL_SYSTOLIC = 180
    CRITICAL_HEART_RATE = 120
    CRITICAL_SPO2 = 90

    def critical_findings(self) -> list[str]:
        """The values of one set of vitals that need a doctor now (adult thresholds)."""
        found = []
        sys_bp, dia_bp = self.blood_pressure_systolic, self.blood_pressure_diastolic
        if sys_bp is not None and sys_bp >= self.CRITICAL_SYSTOLIC:
            found.append(f"Systolic {sys_bp} mmHg")
        if dia_bp is not None and dia_bp >= 120:
            found.append(f"Diastolic {dia_bp} mmHg")
        if self.heart_rate is not None and not 40 < self.heart_rate < self.CRITICAL_HEART_RATE:
            found.append(f"Heart rate {self.heart_rate}/min")
        if self.oxygen_saturation is not None and self.oxygen_saturation <= self.CRITICAL_SPO2:
            found.append(f"SpO₂ {self.oxygen_saturation}%")
        if self.respiratory_rate is not None and not 8 < self.respiratory_rate < 30:
            found.append(f"Respiratory rate {self.respiratory_rate}/min")
        if self.temperature is not None:
            celsius = Decimal(self.temperature)
            if self.temperature_unit == self.TemperatureUnit.FAHRENHEIT:
                celsius = (celsius - 32) * 5 / 9
            if not Decimal("35.0") < celsius < Decimal("39.5"):
                found.append(f"Temperature {self.temperature} °{self.temperature_unit}")
        return found

    def compute_bmi(self) -> Decimal | None:
        if self.weight_kg and self.height_cm:
            metres = Decimal(self.height_cm) / 100
            return (Decimal(self.weight_kg) / (metres * metres)).quantize(Decimal("0.1"))
        return None

    def clean(self) -> None:
        errors = {}
        sys_bp, dia_bp = self.blood_pressure_systolic, self.blood_pressure_diastolic
        if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
            errors["blood_pressure_diastolic"] = "Diastolic pressure must be below systolic."
        if self.temperature is not None:
            low, high = self.TEMPERATURE_LIMITS[self.temperature_unit]
            if not low <= Decimal(self.temperature) <= high:
                errors["temperature"] = (
                    f"Temperature must be between {low} and {high} °{self.temperature_unit}."
                )
        if self.recorded_at and self.recorded_at > timezone.now() + timedelta(minutes=5):
            errors["recorded_at"] = "Vitals cannot be recorded in the future."
        if errors:
            raise ValidationError(errors)


class Diagnosis(TimestampedModel):
    class DiagnosisType(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"
        DIFFERENTIAL = "differential", "Differential"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CHRONIC = "chronic", "Chronic"
        RESOLVED = "resolved", "Resolved"
        RULED_OUT = "ruled_out", "Ruled out"

    diagnosis_id = models.BigAutoField(primary_key=True)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="diagnoses")
    description = models.CharField(max_length=255)
    icd10_code = models.CharField("ICD-10 code", max_length=8, validators=[icd10_validator])
    diagnosis_type = models.CharField(
        max_length=20, choices=DiagnosisType.choices, default=DiagnosisType.PRIMARY
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    diagnosed_date = models.DateField(default=timezone.localdate)
    notes = models.TextField(blank=True)

    ACTIVE_STATUSES = (Status.ACTIVE, Status.CHRONIC)

    class Meta:
        ordering = ["-diagnosed_date"]
        verbose_name_plural = "diagnoses"
        indexes = [
            models.Index(fields=["encounter", "-diagnosed_date"]),
            models.Index(fields=["icd10_code"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.description}"

    def save(self, *args, **kwargs) -> None:
        self.icd10_code = (self.icd10_code or "").strip().upper()
        super().save(*args, **kwargs)


class LabTest(TimestampedModel):
    class AbnormalFlag(models.TextChoices):
        NORMAL = "", "Normal"
        LOW = "L", "Low"
        HIGH = "H", "High"
        CRITICAL_LOW = "LL", "Critically low"
        CRITICAL_HIGH = "HH", "Critically high"
        ABNORMAL = "A", "Abnormal"

    class Status(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    lab_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_tests")
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="lab_tests"
    )
    test_name = models.CharField(max_length=200)
    test_code = models.CharField("Code (LOINC)", max_length=20, blank=True)
    ordered_date = models.DateField(default=timezone.localdate)
    result_date = models.DateField(null=True, blank=True)
    result_value = models.CharField(max_length=100, blank=True)
    unit = models.CharField(max_length=30, blank=True)
    reference_range = models.CharField(max_length=60, blank=True)
    abnormal_flag = models.CharField(
        max_length=2, choices=AbnormalFlag.choices, default=AbnormalFlag.NORMAL, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-ordered_date"]
        indexes = [
            models.Index(fields=["patient", "-ordered_date"]),
            models.Index(fields=["patient", "abnormal_flag"]),
        ]

    def __str__(self) -> str:
        return f"{self.test_name}: {self.result_value} {self.unit}".strip()

    @property
    def is_abnormal(self) -> bool:
        return bool(self.abnormal_flag)

    def clean(self) -> None:
        if self.result_date and self.ordered_date and self.result_date < self.ordered_date:
            raise ValidationError({"result_date": "The result date is before the order date."})


class MedicalHistory(TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CHRONIC = "chronic", "Chronic"
        RESOLVED = "resolved", "Resolved"

    history_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medical_history")
    condition = models.CharField(max_length=255)
    diagnosed_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-diagnosed_date"]
        verbose_name_plural = "medical history"
        indexes = [models.Index(fields=["patient", "-diagnosed_date"])]

    def __str__(self) -> str:
        return self.condition


class FamilyHistory(TimestampedModel):
    class Relationship(models.TextChoices):
        MOTHER = "mother", "Mother"
        FATHER = "father", "Father"
        SIBLING = "sibling", "Sibling"
        CHILD = "child", "Child"
        GRANDPARENT = "grandparent", "Grandparent"
        OTHER = "other", "Other relative"

    family_history_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="family_history")
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    condition = models.CharField(max_length=255)
    age_at_diagnosis = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_range(0, 120, "Age at diagnosis")
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["relationship", "condition"]
        verbose_name_plural = "family history"
        indexes = [models.Index(fields=["patient"])]

    def __str__(self) -> str:
        return f"{self.get_relationship_display()}: {self.condition}"


class SocialHistory(TimestampedModel):
    class Smoking(models.TextChoices):
        NEVER = "never", "Never smoked"
        FORMER = "former", "Former smoker"
        CURRENT = "current", "Current smoker"
        UNKNOWN = "unknown", "Unknown"

    class Alcohol(models.TextChoices):
        NONE = "none", "None"
        OCCASIONAL = "occasional", "Occasional"
        MODERATE = "moderate", "Moderate"
        HEAVY = "heavy", "Heavy"
        UNKNOWN = "unknown", "Unknown"

    class DrugUse(models.TextChoices):
        NONE = "none", "None"
        PAST = "past", "Past"
        CURRENT = "current", "Current"
        UNKNOWN = "unknown", "Unknown"

    social_history_id = models.BigAutoField(primary_key=True)
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="social_history")
    smoking_status = models.CharField(
        max_length=10, choices=Smoking.choices, default=Smoking.UNKNOWN
    )
    pack_years = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(0, 300, "Pack-years"),
    )
    alcohol_use = models.CharField(max_length=12, choices=Alcohol.choices, default=Alcohol.UNKNOWN)
    drug_use = models.CharField(max_length=10, choices=DrugUse.choices, default=DrugUse.UNKNOWN)
    exercise = models.CharField(max_length=255, blank=True)
    diet = models.CharField(max_length=255, blank=True)
    occupation = models.CharField(max_length=120, blank=True)
    # Free text typed by a patient or a clerk: sent to the model only inside a delimited,
    # capped data block (DESIGN.md, invariant 8).
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "social history"

    def __str__(self) -> str:
        return f"Social history of patient {self.patient_id}"


class Allergy(TimestampedModel):
    class AllergyType(models.TextChoices):
        DRUG = "drug", "Drug"
        FOOD = "food", "Food"
        ENVIRONMENTAL = "environmental", "Environmental"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        LIFE_THREATENING = "life_threatening", "Life-threatening"

    allergy_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    allergen = models.CharField(max_length=120)
    allergy_type = models.CharField(
        max_length=20, choices=AllergyType.choices, default=AllergyType.DRUG
    )
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MODERATE)
    reaction = models.CharField(max_length=255, blank=True)
    onset_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["allergen"]
        verbose_name_plural = "allergies"
        indexes = [models.Index(fields=["patient", "is_active"])]

    def __str__(self) -> str:
        return f"{self.allergen} ({self.get_severity_display()})"


class Prescription(TimestampedModel):
    class Route(models.TextChoices):
        ORAL = "oral", "Oral"
        IV = "iv", "Intravenous"
        IM = "im", "Intramuscular"
        SUBCUTANEOUS = "subcutaneous", "Subcutaneous"
        TOPICAL = "topical", "Topical"
        INHALED = "inhaled", "Inhaled"
        SUBLINGUAL = "sublingual", "Sublingual"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        COMPLETED = "completed", "Completed"
        DISCONTINUED = "discontinued", "Discontinued"

    prescription_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="prescriptions"
    )
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.SET_NULL, related_name="prescriptions"
    )
    medication_name = models.CharField(max_length=200)
    dosage = models.CharField(max_length=100)
    frequency = models.CharField(max_length=100)
    route = models.CharField(max_length=20, choices=Route.choices, default=Route.ORAL)
    start_date = models.DateField(default=timezone.localdate)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    instructions = models.TextField(blank=True)

    class Meta:
        ordering = ["medication_name"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.medication_name} {self.dosage} {self.frequency}"

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})
