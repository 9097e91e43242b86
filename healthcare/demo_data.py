"""The demo data that `python manage.py seed_demo` loads: fictional people, realistic records.

Every person here is invented (phone numbers in the 555-01xx range, example.org addresses).
Times are offsets before "now" (`ago`), turned into dates when the command runs, so that the
"critical vitals in the last 24 hours" of two patients hold whenever the demo is set up.
Stable keys make the command idempotent: usernames for logins, NPIs for doctors, MRNs for
patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DEMO_PASSWORD = "InHealth-demo-2026"  # noqa: S105 - the documented demo password


def ago(days: float = 0, hours: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours)


# --- Building blocks ------------------------------------------------------------------------
@dataclass(frozen=True)
class Vitals:
    """One set of vital signs, `minutes` after the start of its encounter."""

    systolic: int
    diastolic: int
    heart_rate: int
    respiratory_rate: int = 16
    temperature: str = "36.8"  # °C
    spo2: int = 98
    weight_kg: str | None = None
    height_cm: str | None = None
    glucose: str | None = None  # mg/dL
    minutes: int = 5


@dataclass(frozen=True)
class Dx:
    icd10: str
    description: str
    status: str = "chronic"  # active, chronic, resolved, ruled_out
    type: str = "primary"  # primary, secondary, differential
    notes: str = ""


@dataclass(frozen=True)
class Lab:
    name: str
    loinc: str
    value: str
    unit: str
    reference_range: str
    flag: str = ""  # "", L, H, LL, HH, A
    result_after_days: int = 1


@dataclass(frozen=True)
class Rx:
    medication: str
    dosage: str
    frequency: str
    route: str = "oral"
    instructions: str = ""
    status: str = "active"  # active, on_hold, completed, discontinued
    end_after_days: int | None = None


@dataclass(frozen=True)
class Visit:
    """An encounter and what was recorded at it."""

    ago: timedelta
    type: str  # office, telehealth, emergency, inpatient, follow_up
    complaint: str
    notes: str = ""
    doctor: str | None = None  # username; default: the patient's primary doctor
    vitals: tuple[Vitals, ...] = ()
    diagnoses: tuple[Dx, ...] = ()
    labs: tuple[Lab, ...] = ()
    prescriptions: tuple[Rx, ...] = ()


@dataclass(frozen=True)
class History:
    condition: str
    diagnosed: date | timedelta | None
    status: str = "chronic"  # active, chronic, resolved
    notes: str = ""


@dataclass(frozen=True)
class Family:
    relationship: str  # mother, father, sibling, child, grandparent, other
    condition: str
    age_at_diagnosis: int | None = None


@dataclass(frozen=True)
class Social:
    smoking: str  # never, former, current, unknown
    alcohol: str  # none, occasional, moderate, heavy, unknown
    drugs: str = "none"
    pack_years: str | None = None
    exercise: str = ""
    diet: str = ""
    occupation: str = ""
    notes: str = ""


@dataclass(frozen=True)
class AllergySpec:
    allergen: str
    type: str  # drug, food, environmental, other
    severity: str  # mild, moderate, severe, life_threatening
    reaction: str
    onset: date | None = None


@dataclass(frozen=True)
class DoctorSpec:
    username: str
    first_name: str
    last_name: str
    specialty: str
    npi: str
    phone: str

    @property
    def email(self) -> str:
        return f"{self.username}@inhealth.example.org"


@dataclass(frozen=True)
class PatientSpec:
    username: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str  # F, M, O, U
    mrn: str
    doctor: str  # username of the primary doctor
    summary: str  # one line for the logins table
    phone: str
    address: str
    visits: tuple[Visit, ...]
    history: tuple[History, ...]
    family: tuple[Family, ...]
    social: Social
    allergies: tuple[AllergySpec, ...] = ()
    critical_recently: bool = False

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"


@dataclass(frozen=True)
class AdminSpec:
    username: str = "admin"
    first_name: str = "Alex"
    last_name: str = "Morgan"
    email: str = "admin@inhealth.example.org"


ADMIN = AdminSpec()

# --- Doctors --------------------------------------------------------------------------------
DOCTORS: tuple[DoctorSpec, ...] = (
    DoctorSpec("dr.chen", "Emily", "Chen", "Internal Medicine", "1457382910", "555-0101"),
    DoctorSpec("dr.okafor", "Samuel", "Okafor", "Cardiology", "1629384750", "555-0102"),
    DoctorSpec("dr.patel", "Priya", "Patel", "Family Medicine", "1386204957", "555-0103"),
)

# --- Patients -------------------------------------------------------------------------------
PATIENTS: tuple[PatientSpec, ...] = (
    PatientSpec(
        username="maria.gonzalez",
        first_name="Maria",
        last_name="Gonzalez",
        date_of_birth=date(1968, 3, 14),
        sex="F",
        mrn="IH-100231",
        doctor="dr.chen",
        summary="Hypertension; CRITICAL BP 186/112 in the last 24 h",
        phone="555-0131",
        address="14 Alder Street, Springfield",
        critical_recently=True,
        visits=(
            Visit(
                ago(days=180),
                "office",
                "Annual physical; high readings on a home blood pressure cuff",
                vitals=(Vitals(152, 96, 78, 14, "36.7", 98, "78.5", "162.0", "98"),),
                diagnoses=(Dx("I10", "Essential (primary) hypertension"),),
                labs=(
                    Lab("Creatinine", "2160-0", "0.9", "mg/dL", "0.6-1.1"),
                    Lab("Potassium", "2823-3", "4.1", "mmol/L", "3.5-5.1"),
                ),
                prescriptions=(
                    Rx(
                        "Hydrochlorothiazide",
                        "12.5 mg",
                        "once daily",
                        status="discontinued",
                        end_after_days=90,
                        instructions="Stopped: sodium 131 mmol/L.",
                    ),
                ),
            ),
            Visit(
                ago(days=90),
                "follow_up",
                "Blood pressure follow-up",
                notes="Home readings 140s-150s/90s. Hydrochlorothiazide stopped (hyponatraemia).",
                vitals=(Vitals(146, 92, 76, 14, "36.6", 98, "78.0", "162.0"),),
                diagnoses=(Dx("E78.5", "Hyperlipidemia, unspecified", type="secondary"),),
                labs=(
                    Lab("LDL cholesterol", "13457-7", "162", "mg/dL", "<100", "H"),
                    Lab("Total cholesterol", "2093-3", "248", "mg/dL", "<200", "H"),
                    Lab("HDL cholesterol", "2085-9", "48", "mg/dL", ">45"),
                ),
                prescriptions=(
                    Rx("Lisinopril", "40 mg", "once daily"),
                    Rx("Atorvastatin", "20 mg", "once daily at bedtime"),
                ),
            ),
            Visit(
                ago(days=60),
                "office",
                "Cardiology referral: blood pressure above target on treatment",
                notes="Echocardiogram: mild left ventricular hypertrophy, ejection fraction 60%.",
                doctor="dr.okafor",
                vitals=(Vitals(158, 98, 80, 15, "36.8", 97, "78.2", "162.0"),),
                prescriptions=(Rx("Amlodipine", "10 mg", "once daily"),),
            ),
            Visit(
                ago(hours=6),
                "office",
                "Same-day visit: severe headache and blurred vision since this morning",
                notes="Missed two days of medication while travelling. No chest pain.",
                vitals=(
                    Vitals(186, 112, 104, 18, "36.9", 97, "78.4", "162.0", minutes=10),
                    Vitals(182, 108, 98, 18, "36.9", 97, minutes=40),
                ),
                diagnoses=(Dx("I16.0", "Hypertensive urgency", status="active"),),
                labs=(
                    Lab("Troponin I", "10839-9", "0.01", "ng/mL", "<0.04", result_after_days=0),
                    Lab(
                        "Urine protein", "2888-6", "Trace", "", "Negative", "A", result_after_days=0
                    ),
                ),
            ),
        ),
        history=(
            History("Essential hypertension", date(2016, 5, 1)),
            History("Gestational diabetes", date(1999, 8, 1), "resolved"),
            History("Laparoscopic cholecystectomy", date(2012, 2, 1), "resolved"),
        ),
        family=(
            Family("father", "Stroke", 66),
            Family("mother", "Hypertension", 50),
            Family("sibling", "Type 2 diabetes", 52),
        ),
        social=Social(
            "former",
            "occasional",
            pack_years="12.0",
            exercise="Walks the dog 15 minutes most evenings",
            diet="Eats out often; high in salt",
            occupation="School administrator",
        ),
        allergies=(
            AllergySpec(
                "Penicillin", "drug", "severe", "Hives and throat tightness", date(1995, 6, 1)
            ),
            AllergySpec("Latex", "environmental", "mild", "Contact dermatitis"),
        ),
    ),
    PatientSpec(
        username="james.whitaker",
        first_name="James",
        last_name="Whitaker",
        date_of_birth=date(1961, 9, 2),
        sex="M",
        mrn="IH-100232",
        doctor="dr.chen",
        summary="Type 2 diabetes, HbA1c 9.1%",
        phone="555-0132",
        address="202 Birch Road, Springfield",
        visits=(
            Visit(
                ago(days=270),
                "office",
                "Tiredness, thirst and passing urine at night",
                vitals=(Vitals(138, 86, 82, 16, "36.8", 97, "104.3", "178.0", "212"),),
                diagnoses=(
                    Dx("E11.9", "Type 2 diabetes mellitus without complications"),
                    Dx("E66.9", "Obesity, unspecified", type="secondary"),
                ),
                labs=(Lab("Hemoglobin A1c", "4548-4", "8.4", "%", "4.0-5.6", "H"),),
                prescriptions=(
                    Rx("Metformin", "1000 mg", "twice daily", instructions="With meals."),
                ),
            ),
            Visit(
                ago(days=180),
                "follow_up",
                "Diabetes follow-up",
                vitals=(Vitals(134, 84, 80, 16, "36.7", 97, "102.8", "178.0", "176"),),
            ),
            Visit(
                ago(days=90),
                "follow_up",
                "Diabetes follow-up; cholesterol results",
                vitals=(Vitals(136, 82, 78, 15, "36.6", 98, "101.9", "178.0", "168"),),
                diagnoses=(Dx("E78.5", "Hyperlipidemia, unspecified", type="secondary"),),
                labs=(
                    Lab("Hemoglobin A1c", "4548-4", "8.9", "%", "4.0-5.6", "H"),
                    Lab("LDL cholesterol", "13457-7", "138", "mg/dL", "<100", "H"),
                ),
                prescriptions=(Rx("Atorvastatin", "40 mg", "once daily"),),
            ),
            Visit(
                ago(days=14),
                "office",
                "Diabetes review; tingling in both feet",
                notes="Monofilament sensation reduced at both great toes.",
                vitals=(Vitals(140, 88, 84, 16, "36.8", 97, "102.5", "178.0", "182"),),
                labs=(
                    Lab("Hemoglobin A1c", "4548-4", "9.1", "%", "4.0-5.6", "H"),
                    Lab("Fasting glucose", "1558-6", "182", "mg/dL", "70-99", "H"),
                    Lab("eGFR", "33914-3", "78", "mL/min/1.73m2", ">60"),
                    Lab("Urine albumin/creatinine ratio", "9318-7", "42", "mg/g", "<30", "H"),
                ),
                prescriptions=(Rx("Empagliflozin", "10 mg", "once daily"),),
            ),
        ),
        history=(
            History("Type 2 diabetes mellitus", ago(days=270)),
            History("Obstructive sleep apnoea (uses CPAP)", date(2020, 3, 1)),
            History("Right knee arthroscopy", date(2010, 7, 1), "resolved"),
        ),
        family=(
            Family("mother", "Type 2 diabetes", 55),
            Family("father", "Myocardial infarction", 61),
        ),
        social=Social(
            "never",
            "moderate",
            exercise="Sedentary; plans to start walking",
            diet="Large portions; two sugary drinks a day",
            occupation="Long-haul truck driver",
        ),
        allergies=(
            AllergySpec("Sulfonamide antibiotics", "drug", "moderate", "Widespread itchy rash"),
        ),
    ),
    PatientSpec(
        username="linda.kowalski",
        first_name="Linda",
        last_name="Kowalski",
        date_of_birth=date(1954, 11, 21),
        sex="F",
        mrn="IH-100233",
        doctor="dr.chen",
        summary="COPD exacerbation; CRITICAL SpO2 88%, HR 124 in the last 24 h",
        phone="555-0133",
        address="7 Cedar Lane, Springfield",
        critical_recently=True,
        visits=(
            Visit(
                ago(days=200),
                "office",
                "Chronic cough and breathlessness on the stairs",
                vitals=(Vitals(132, 80, 88, 20, "36.6", 93, "58.2", "160.0"),),
                diagnoses=(Dx("J44.9", "Chronic obstructive pulmonary disease, unspecified"),),
                prescriptions=(
                    Rx("Tiotropium", "18 mcg", "once daily", route="inhaled"),
                    Rx(
                        "Albuterol",
                        "90 mcg/actuation, 2 puffs",
                        "every 4-6 hours as needed",
                        route="inhaled",
                    ),
                ),
            ),
            Visit(
                ago(days=120),
                "follow_up",
                "COPD review after spirometry",
                vitals=(Vitals(128, 78, 86, 19, "36.7", 94, "57.9", "160.0"),),
                diagnoses=(Dx("Z72.0", "Tobacco use", status="active", type="secondary"),),
                labs=(
                    Lab("FEV1/FVC ratio", "19926-5", "0.58", "ratio", ">0.70", "L"),
                    Lab("FEV1 % predicted", "20150-9", "54", "%", ">80", "L"),
                ),
                prescriptions=(
                    Rx(
                        "Fluticasone/salmeterol",
                        "250/50 mcg, 1 inhalation",
                        "twice daily",
                        route="inhaled",
                    ),
                    Rx("Nicotine patch", "21 mg/24 h", "once daily", route="topical"),
                ),
            ),
            Visit(
                ago(days=45),
                "office",
                "More sputum and breathlessness for a week",
                vitals=(Vitals(134, 82, 96, 22, "37.6", 91, "57.5", "160.0"),),
                diagnoses=(
                    Dx(
                        "J44.1",
                        "COPD with (acute) exacerbation",
                        status="resolved",
                        notes="Treated with a 5-day course of prednisone.",
                    ),
                ),
            ),
            Visit(
                ago(hours=3),
                "emergency",
                "Worsening shortness of breath for two days, fever, green sputum",
                notes="Speaking in short sentences. Nebulised albuterol given.",
                vitals=(
                    Vitals(142, 88, 124, 28, "38.3", 88, "57.0", "160.0", minutes=5),
                    Vitals(138, 84, 118, 24, "38.1", 90, minutes=50),
                ),
                diagnoses=(Dx("J44.1", "COPD with (acute) exacerbation", status="active"),),
                labs=(
                    Lab("White blood cell count", "6690-2", "13.8", "10^9/L", "4.0-11.0", "H", 0),
                    Lab("C-reactive protein", "1988-5", "48", "mg/L", "<5", "H", 0),
                    Lab("Venous pCO2", "2021-4", "52", "mmHg", "35-45", "H", 0),
                    Lab("Hemoglobin", "718-7", "15.9", "g/dL", "12.0-15.5", "H", 0),
                ),
                prescriptions=(Rx("Prednisone", "40 mg", "once daily", end_after_days=5),),
            ),
        ),
        history=(
            History("COPD, GOLD stage 3", ago(days=200)),
            History("Osteoporosis", date(2018, 9, 1)),
            History("Community-acquired pneumonia", date(2021, 1, 1), "resolved"),
        ),
        family=(
            Family("father", "Lung cancer", 68),
            Family("mother", "Osteoporosis", 70),
        ),
        social=Social(
            "current",
            "none",
            pack_years="45.0",
            exercise="Limited by breathlessness; short walks indoors",
            diet="Poor appetite; often skips lunch",
            occupation="Retired seamstress",
        ),
        allergies=(AllergySpec("Codeine", "drug", "mild", "Nausea and vomiting"),),
    ),
    PatientSpec(
        username="robert.hayes",
        first_name="Robert",
        last_name="Hayes",
        date_of_birth=date(1950, 6, 30),
        sex="M",
        mrn="IH-100234",
        doctor="dr.okafor",
        summary="Heart failure (EF 30%), atrial fibrillation, CKD 3",
        phone="555-0134",
        address="88 Elm Court, Springfield",
        visits=(
            Visit(
                ago(days=240),
                "inpatient",
                "Admitted with breathlessness lying flat and swollen legs",
                notes="Diuresed 6 kg. Echocardiogram: ejection fraction 30%.",
                vitals=(Vitals(148, 90, 108, 24, "36.9", 91, "92.4", "180.0"),),
                diagnoses=(
                    Dx("I50.9", "Heart failure, unspecified", notes="HFrEF, EF 30%."),
                    Dx("I48.91", "Unspecified atrial fibrillation", type="secondary"),
                ),
                labs=(Lab("BNP", "30934-4", "1450", "pg/mL", "<100", "HH"),),
                prescriptions=(
                    Rx("Furosemide", "40 mg", "once daily"),
                    Rx("Apixaban", "5 mg", "twice daily"),
                    Rx("Carvedilol", "12.5 mg", "twice daily", instructions="With food."),
                ),
            ),
            Visit(
                ago(days=150),
                "follow_up",
                "Heart failure clinic after discharge",
                vitals=(Vitals(124, 76, 78, 16, "36.7", 96, "86.1", "180.0"),),
                diagnoses=(
                    Dx("N18.30", "Chronic kidney disease, stage 3 unspecified", type="secondary"),
                ),
                labs=(
                    Lab("Left ventricular ejection fraction", "10230-1", "30", "%", "55-70", "L"),
                ),
                prescriptions=(
                    Rx("Sacubitril/valsartan", "49/51 mg", "twice daily"),
                    Rx("Spironolactone", "25 mg", "once daily"),
                    Rx("Dapagliflozin", "10 mg", "once daily"),
                ),
            ),
            Visit(
                ago(days=60),
                "follow_up",
                "Heart failure clinic",
                vitals=(Vitals(118, 72, 72, 16, "36.6", 96, "85.4", "180.0"),),
            ),
            Visit(
                ago(days=5),
                "telehealth",
                "Weight up 2 kg in a week; more breathless at night",
                notes="Home scale and blood pressure cuff readings reviewed by video.",
                vitals=(Vitals(132, 80, 92, 20, "36.8", 94, "88.6", "180.0"),),
                labs=(
                    Lab("BNP", "30934-4", "980", "pg/mL", "<100", "HH"),
                    Lab("Creatinine", "2160-0", "1.6", "mg/dL", "0.7-1.3", "H"),
                    Lab("Potassium", "2823-3", "5.3", "mmol/L", "3.5-5.1", "H"),
                    Lab("Sodium", "2951-2", "134", "mmol/L", "135-145", "L"),
                    Lab("eGFR", "33914-3", "44", "mL/min/1.73m2", ">60", "L"),
                ),
            ),
        ),
        history=(
            History("Heart failure with reduced ejection fraction", ago(days=240)),
            History("Atrial fibrillation", ago(days=240)),
            History("Coronary artery bypass graft (3 vessels)", date(2012, 10, 1), "resolved"),
            History("Gout", date(2015, 4, 1)),
        ),
        family=(
            Family("father", "Heart failure", 72),
            Family("sibling", "Atrial fibrillation", 70),
        ),
        social=Social(
            "former",
            "occasional",
            pack_years="30.0",
            exercise="Cardiac rehabilitation twice a week",
            diet="Trying a 2 g sodium diet with a 1.5 L fluid limit",
            occupation="Retired electrician",
        ),
        allergies=(AllergySpec("Iodinated contrast media", "drug", "moderate", "Urticaria"),),
    ),
    PatientSpec(
        username="aisha.rahman",
        first_name="Aisha",
        last_name="Rahman",
        date_of_birth=date(1992, 1, 19),
        sex="F",
        mrn="IH-100235",
        doctor="dr.patel",
        summary="Healthy adult; peanut allergy",
        phone="555-0135",
        address="31 Willow Way, Springfield",
        visits=(
            Visit(
                ago(days=400),
                "office",
                "Annual wellness examination",
                vitals=(Vitals(112, 70, 64, 12, "36.6", 99, "61.0", "168.0", "86"),),
                diagnoses=(
                    Dx(
                        "Z00.00",
                        "General adult medical examination without abnormal findings",
                        status="resolved",
                    ),
                    Dx("Z91.010", "Allergy to peanuts", type="secondary"),
                ),
            ),
            Visit(
                ago(days=200),
                "office",
                "Travel vaccination advice before a trip abroad",
                vitals=(Vitals(114, 74, 66, 12, "36.7", 99, "60.8", "168.0"),),
            ),
            Visit(
                ago(days=35),
                "office",
                "Annual wellness examination",
                vitals=(Vitals(110, 72, 62, 12, "36.5", 99, "60.4", "168.0", "84"),),
                diagnoses=(
                    Dx(
                        "Z00.00",
                        "General adult medical examination without abnormal findings",
                        status="resolved",
                    ),
                ),
                labs=(
                    Lab("LDL cholesterol", "13457-7", "92", "mg/dL", "<100"),
                    Lab("Hemoglobin A1c", "4548-4", "5.1", "%", "4.0-5.6"),
                    Lab("TSH", "3016-3", "1.8", "mIU/L", "0.4-4.0"),
                    Lab("Hemoglobin", "718-7", "13.4", "g/dL", "12.0-15.5"),
                    Lab("25-hydroxyvitamin D", "1989-3", "24", "ng/mL", "30-100", "L"),
                ),
                prescriptions=(Rx("Vitamin D3", "2000 IU", "once daily"),),
            ),
        ),
        history=(
            History("Peanut allergy (since childhood)", date(1995, 1, 1)),
            History("Tonsillectomy", date(2000, 6, 1), "resolved"),
        ),
        family=(
            Family("mother", "Hypothyroidism", 40),
            Family("father", "Hypertension", 55),
        ),
        social=Social(
            "never",
            "none",
            exercise="Runs 5 km three times a week; yoga on Sundays",
            diet="Mostly vegetarian, cooks at home",
            occupation="Software engineer",
        ),
        allergies=(
            AllergySpec("Peanuts", "food", "life_threatening", "Anaphylaxis", date(2009, 4, 1)),
        ),
    ),
    PatientSpec(
        username="daniel.nguyen",
        first_name="Daniel",
        last_name="Nguyen",
        date_of_birth=date(1998, 8, 5),
        sex="M",
        mrn="IH-100236",
        doctor="dr.patel",
        summary="Asthma and anxiety; free-text social note",
        phone="555-0136",
        address="5 Poplar Avenue, Apt 12, Springfield",
        visits=(
            Visit(
                ago(days=300),
                "office",
                "Wheezing with exercise and at night",
                vitals=(Vitals(118, 76, 80, 18, "36.7", 96, "72.0", "175.0"),),
                diagnoses=(Dx("J45.30", "Mild persistent asthma, uncomplicated"),),
                labs=(
                    Lab("Total IgE", "19113-0", "410", "IU/mL", "<100", "H"),
                    Lab("Eosinophils", "26449-9", "0.6", "10^9/L", "0.0-0.5", "H"),
                ),
                prescriptions=(
                    Rx(
                        "Albuterol",
                        "90 mcg/actuation, 2 puffs",
                        "as needed for wheeze",
                        route="inhaled",
                    ),
                ),
            ),
            Visit(
                ago(days=150),
                "follow_up",
                "Asthma review; trouble sleeping and constant worry",
                vitals=(Vitals(122, 78, 88, 16, "36.8", 98, "71.8", "175.0"),),
                diagnoses=(
                    Dx("F41.1", "Generalized anxiety disorder", status="active", type="secondary"),
                ),
                prescriptions=(
                    Rx(
                        "Budesonide/formoterol",
                        "160/4.5 mcg, 2 inhalations",
                        "twice daily",
                        route="inhaled",
                    ),
                    Rx("Sertraline", "50 mg", "once daily"),
                ),
            ),
            Visit(
                ago(days=20),
                "follow_up",
                "Asthma control and anxiety follow-up",
                vitals=(Vitals(120, 74, 76, 14, "36.6", 98, "71.5", "175.0"),),
                labs=(Lab("FEV1 % predicted", "20150-9", "86", "%", ">80"),),
            ),
        ),
        history=(
            History("Asthma (since childhood)", date(2005, 1, 1)),
            History("Fractured left wrist", date(2014, 3, 1), "resolved"),
        ),
        family=(
            Family("mother", "Asthma", 30),
            Family("father", "Type 2 diabetes", 60),
        ),
        social=Social(
            "never",
            "occasional",
            exercise="Cycles to work most days",
            diet="Irregular meals on night shifts",
            occupation="Warehouse supervisor",
            notes=(
                "Works night shifts four nights a week, so prefers appointments after 2 pm. "
                "Lives with his partner; would like reminders by text message."
            ),
        ),
        allergies=(
            AllergySpec("House dust mites", "environmental", "mild", "Sneezing, itchy eyes"),
        ),
    ),
    PatientSpec(
        username="grace.oconnor",
        first_name="Grace",
        last_name="O'Connor",
        date_of_birth=date(1980, 4, 11),
        sex="F",
        mrn="IH-100237",
        doctor="dr.patel",
        summary="Hypothyroidism and iron-deficiency anaemia",
        phone="555-0137",
        address="120 Maple Drive, Springfield",
        visits=(
            Visit(
                ago(days=210),
                "office",
                "Tiredness, feeling cold and weight gain",
                vitals=(Vitals(116, 74, 58, 14, "36.2", 98, "70.5", "165.0"),),
                diagnoses=(Dx("E03.9", "Hypothyroidism, unspecified"),),
                labs=(
                    Lab("TSH", "3016-3", "9.6", "mIU/L", "0.4-4.0", "H"),
                    Lab("Free T4", "3024-7", "0.6", "ng/dL", "0.8-1.8", "L"),
                ),
                prescriptions=(
                    Rx(
                        "Levothyroxine",
                        "75 mcg",
                        "once daily",
                        instructions="On an empty stomach, 30 minutes before breakfast.",
                    ),
                ),
            ),
            Visit(
                ago(days=120),
                "follow_up",
                "Thyroid follow-up; heavy periods",
                vitals=(Vitals(114, 72, 64, 14, "36.5", 99, "69.8", "165.0"),),
                diagnoses=(
                    Dx(
                        "D50.0",
                        "Iron deficiency anemia secondary to blood loss (chronic)",
                        status="active",
                        type="secondary",
                    ),
                    Dx(
                        "N92.0",
                        "Excessive and frequent menstruation with regular cycle",
                        status="active",
                        type="secondary",
                    ),
                ),
                prescriptions=(
                    Rx(
                        "Ferrous sulfate",
                        "325 mg",
                        "every other day",
                        instructions="Not within 4 hours of levothyroxine.",
                    ),
                ),
            ),
            Visit(
                ago(days=30),
                "follow_up",
                "Review of thyroid and iron results",
                vitals=(Vitals(112, 70, 70, 14, "36.6", 99, "68.9", "165.0"),),
                labs=(
                    Lab("TSH", "3016-3", "4.8", "mIU/L", "0.4-4.0", "H"),
                    Lab("Hemoglobin", "718-7", "10.9", "g/dL", "12.0-15.5", "L"),
                    Lab("Ferritin", "2276-4", "8", "ng/mL", "15-150", "L"),
                    Lab("MCV", "787-2", "76", "fL", "80-100", "L"),
                ),
            ),
        ),
        history=(
            History("Hypothyroidism", ago(days=210)),
            History("Migraine without aura", date(2005, 9, 1)),
            History("Caesarean section", date(2012, 11, 1), "resolved"),
        ),
        family=(
            Family("mother", "Hypothyroidism", 45),
            Family("grandparent", "Breast cancer", 62),
        ),
        social=Social(
            "never",
            "occasional",
            exercise="Pilates once a week",
            diet="Pescatarian",
            occupation="Primary school teacher",
        ),
        allergies=(AllergySpec("Shellfish", "food", "moderate", "Lip swelling and hives"),),
    ),
    PatientSpec(
        username="thomas.brennan",
        first_name="Thomas",
        last_name="Brennan",
        date_of_birth=date(1966, 12, 3),
        sex="M",
        mrn="IH-100238",
        doctor="dr.okafor",
        summary="Coronary artery disease after NSTEMI; new exertional chest tightness",
        phone="555-0138",
        address="46 Spruce Street, Springfield",
        visits=(
            Visit(
                ago(days=330),
                "inpatient",
                "Chest pain at rest for one hour",
                notes="NSTEMI. Drug-eluting stent to the left anterior descending artery.",
                vitals=(Vitals(162, 98, 96, 20, "36.8", 95, "96.0", "183.0"),),
                diagnoses=(
                    Dx("I21.4", "Non-ST elevation myocardial infarction", status="resolved"),
                    Dx(
                        "I25.10",
                        "Atherosclerotic heart disease of native coronary artery "
                        "without angina pectoris",
                    ),
                    Dx("I10", "Essential (primary) hypertension", type="secondary"),
                ),
                labs=(Lab("Troponin I", "10839-9", "2.8", "ng/mL", "<0.04", "HH", 0),),
                prescriptions=(
                    Rx("Aspirin", "81 mg", "once daily"),
                    Rx("Ticagrelor", "90 mg", "twice daily", instructions="For 12 months."),
                    Rx("Atorvastatin", "80 mg", "once daily at night"),
                    Rx("Metoprolol succinate", "50 mg", "once daily"),
                    Rx("Nitroglycerin", "0.4 mg", "as needed for chest pain", route="sublingual"),
                ),
            ),
            Visit(
                ago(days=240),
                "follow_up",
                "Follow-up after myocardial infarction; cardiac rehabilitation",
                vitals=(Vitals(134, 84, 68, 16, "36.7", 97, "93.2", "183.0"),),
                diagnoses=(Dx("E78.5", "Hyperlipidemia, unspecified", type="secondary"),),
                labs=(Lab("LDL cholesterol", "13457-7", "118", "mg/dL", "<100", "H"),),
                prescriptions=(Rx("Ramipril", "5 mg", "once daily"),),
            ),
            Visit(
                ago(days=90),
                "follow_up",
                "Cardiology follow-up",
                vitals=(Vitals(128, 80, 64, 15, "36.6", 97, "91.0", "183.0"),),
            ),
            Visit(
                ago(days=10),
                "office",
                "Occasional chest tightness when walking uphill",
                vitals=(Vitals(138, 86, 70, 16, "36.7", 97, "91.8", "183.0", "104"),),
                diagnoses=(Dx("I20.9", "Angina pectoris, unspecified", status="active"),),
                labs=(
                    Lab("LDL cholesterol", "13457-7", "84", "mg/dL", "<100"),
                    Lab("ALT", "1742-6", "52", "U/L", "7-56"),
                    Lab("Creatinine", "2160-0", "1.1", "mg/dL", "0.7-1.3"),
                    Lab("Hemoglobin A1c", "4548-4", "6.0", "%", "4.0-5.6", "H"),
                ),
            ),
        ),
        history=(
            History("Myocardial infarction (NSTEMI), stent to LAD", ago(days=330), "resolved"),
            History("Hypertension", date(2015, 2, 1)),
            History("Hyperlipidemia", date(2015, 2, 1)),
        ),
        family=(
            Family("father", "Myocardial infarction", 54),
            Family("sibling", "Hypertension", 48),
        ),
        social=Social(
            "former",
            "moderate",
            pack_years="25.0",
            exercise="Walks 30 minutes five days a week since cardiac rehabilitation",
            diet="Mediterranean-style since the heart attack",
            occupation="Construction site manager",
        ),
        allergies=(AllergySpec("Penicillin", "drug", "mild", "Rash as a child"),),
    ),
)
