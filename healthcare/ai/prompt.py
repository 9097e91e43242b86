"""The treatment-plan prompt: template, data block, token budget, shortening, injection flags.

- Instructions come first (system message and task); the record follows in ONE data block
  between fixed marker lines. Free text is collapsed onto one line, quoted as a JSON string
  and has marker-like sequences neutralised, so nothing typed into the record can end the
  block or start a line of its own.
- Tokens are estimated conservatively (digits and punctuation count as a token each, letters
  at about 2.5 a token), and `num_ctx` is set explicitly: estimate + `num_predict` + margin,
  rounded up to a power of two, capped by OLLAMA_MAX_NUM_CTX. A prompt that does not fit is
  shortened by rule, oldest data first, and the shortening is recorded; a prompt that still
  does not fit raises.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from .errors import PromptTooLargeError

PROMPT_TEMPLATE_VERSION = "tp-v1"
_PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
SYSTEM_PROMPT = (_PROMPT_DIR / "treatment_plan_v1.system.txt").read_text(encoding="utf-8").strip()
TASK_TEMPLATE = Template(
    (_PROMPT_DIR / "treatment_plan_v1.task.txt").read_text(encoding="utf-8").strip()
)
DATA_BEGIN = "<<<PATIENT_DATA>>>"
DATA_END = "<<<END_PATIENT_DATA>>>"

# Tokens the chat template adds around the messages, and a margin for the estimate itself.
TEMPLATE_OVERHEAD_TOKENS = 32
ESTIMATE_SAFETY = 1.10
CTX_MARGIN_TOKENS = 64
MIN_NUM_CTX = 2048

# Shortening, oldest first: (list in the data, keep at least). Allergies are never dropped:
# leaving one out could make a proposal unsafe. Current medications go last and only down to
# MIN_MEDICATIONS_KEPT (on-hold and the longest-running first, see patient_data): a chart with
# hundreds of active prescriptions still gets a proposal, but the prompt says the list is
# incomplete and the doctor sees a `medications_left_out` flag. Every section that lost rows
# says how many in the prompt, so the model never reads "none" for data it was not shown.
MIN_MEDICATIONS_KEPT = 20
SHORTENING_STEPS: tuple[tuple[str, int], ...] = (
    ("vital_signs", 3),
    ("lab_tests", 5),
    ("recent_encounters", 1),
    ("medical_history", 5),
    ("diagnoses", 3),
    ("family_history", 3),
    ("vital_signs", 1),
    ("lab_tests", 1),
    ("recent_encounters", 0),
    ("medical_history", 1),
    ("family_history", 0),
    ("diagnoses", 1),
    ("lab_tests", 0),
    ("current_medications", MIN_MEDICATIONS_KEPT),
)

ABNORMAL_FLAG_WORDS = {
    "L": "LOW",
    "H": "HIGH",
    "LL": "CRITICALLY LOW",
    "HH": "CRITICALLY HIGH",
    "A": "ABNORMAL",
}

# Text in the record that reads like instructions to a language model.
INJECTION_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "override_instructions",
            r"\b(ignore|disregard|forget|override|bypass)\b[\w\s,'\"-]{0,40}?"
            r"\b(instructions?|prompts?|rules|guidelines|directions|everything)\b",
        ),
        ("role_marker", r"(^|[\s\"'(\[{|>])(system|assistant|developer)\s*:"),
        (
            "chat_template_token",
            r"<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|<\s*/?\s*(system|assistant)\s*>",
        ),
        ("role_change", r"\byou are now\b|\bpretend (to be|you are)\b|\bfrom now on,? you\b"),
        ("new_instructions", r"\bnew (instructions?|rules|task)\b|\binstead,? (write|say|output)"),
        ("output_control", r"\b(respond|reply|answer|output)\s+only\s+with\b"),
        ("marker_forgery", r"<<<|>>>|patient_data"),
    )
)


def estimate_tokens(text: str) -> int:
    """A conservative token count for numbers-heavy clinical text.

    Small-vocabulary tokenizers spend a token on every digit and most punctuation; words run
    at 2-4 characters a token. Measured on the CPU test model: ~1.5 characters a token for a
    vitals-and-labs prompt (DESIGN.md); this estimate stays above that.
    """
    digits = sum(ch.isdigit() for ch in text)
    spaces = sum(ch.isspace() for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    others = len(text) - digits - spaces - letters
    raw = digits + others + spaces / 2 + letters / 2.5
    return math.ceil(raw * ESTIMATE_SAFETY) + TEMPLATE_OVERHEAD_TOKENS


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def neutralise(value: Any) -> str:
    """One line, no marker-like sequences: patient text cannot leave the data block."""
    text = " ".join(str(value if value is not None else "").split())
    text = re.sub(r"<{2,}", "<", text)
    return re.sub(r">{2,}", ">", text)


def quoted(value: Any) -> str:
    """Free text as a JSON string literal: quotes and backslashes escaped, one line."""
    return json.dumps(neutralise(value), ensure_ascii=False)


def _word(value: Any) -> str:
    return neutralise(value).replace("_", " ")


def _join(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p)


def _vital_line(v: dict) -> str:
    parts = []
    if v.get("blood_pressure_systolic") and v.get("blood_pressure_diastolic"):
        parts.append(f"BP {v['blood_pressure_systolic']}/{v['blood_pressure_diastolic']} mmHg")
    for key, label, unit in (
        ("heart_rate", "HR", "/min"),
        ("respiratory_rate", "RR", "/min"),
    ):
        if v.get(key) is not None:
            parts.append(f"{label} {v[key]}{unit}")
    if v.get("temperature") is not None:
        parts.append(f"Temp {v['temperature']} °{neutralise(v.get('temperature_unit') or 'C')}")
    for key, label, unit in (
        ("oxygen_saturation", "SpO2", "%"),
        ("weight_kg", "Weight", " kg"),
        ("height_cm", "Height", " cm"),
        ("bmi", "BMI", ""),
        ("blood_glucose", "Glucose", " mg/dL"),
    ):
        if v.get(key) is not None:
            parts.append(f"{label} {v[key]}{unit}")
    return f"- {neutralise(v.get('recorded_at'))}: {_join(parts) or 'no values'}"


def _diagnosis_line(d: dict) -> str:
    head = f"- {neutralise(d.get('icd10_code'))} {neutralise(d.get('description'))}"
    parts = [_word(d.get("diagnosis_type")), _word(d.get("status"))]
    if d.get("diagnosed_date"):
        parts.append(f"since {neutralise(d['diagnosed_date'])}")
    if d.get("notes"):
        parts.append(f"notes: {quoted(d['notes'])}")
    return f"{head} ({_join(parts)})"


def _lab_line(lab: dict) -> str:
    when = neutralise(lab.get("result_date") or lab.get("ordered_date"))
    name = neutralise(lab.get("test_name"))
    value = f"{neutralise(lab.get('result_value'))} {neutralise(lab.get('unit'))}".strip()
    parts = [f"- {when} {name}: {value or 'no result yet'}"]
    if lab.get("reference_range"):
        parts.append(f"[ref {neutralise(lab['reference_range'])}]")
    flag = ABNORMAL_FLAG_WORDS.get(lab.get("abnormal_flag") or "")
    if flag:
        parts.append(flag)
    if lab.get("status") and lab["status"] != "completed":
        parts.append(f"({_word(lab['status'])})")
    line = " ".join(parts)
    if lab.get("notes"):
        line += f"; notes: {quoted(lab['notes'])}"
    return line


def _history_line(h: dict) -> str:
    parts = [_word(h.get("status"))]
    if h.get("diagnosed_date"):
        parts.append(f"since {neutralise(h['diagnosed_date'])}")
    if h.get("notes"):
        parts.append(f"notes: {quoted(h['notes'])}")
    return f"- {neutralise(h.get('condition'))} ({_join(parts)})"


def _family_line(f: dict) -> str:
    line = f"- {_word(f.get('relationship')).capitalize()}: {neutralise(f.get('condition'))}"
    if f.get("age_at_diagnosis") is not None:
        line += f" at age {f['age_at_diagnosis']}"
    if f.get("notes"):
        line += f"; notes: {quoted(f['notes'])}"
    return line


def _social_lines(s: dict | None) -> list[str]:
    if not s:
        return ["Social history: not recorded"]
    smoking = _word(s.get("smoking_status"))
    if s.get("pack_years") is not None:
        smoking += f" ({s['pack_years']} pack-years)"
    lines = [
        "Social history:",
        f"- Smoking: {smoking}; alcohol: {_word(s.get('alcohol_use'))}; "
        f"drug use: {_word(s.get('drug_use'))}",
    ]
    for key, label in (
        ("exercise", "Exercise"),
        ("diet", "Diet"),
        ("occupation", "Occupation"),
        ("notes", "Notes"),
    ):
        if s.get(key):
            lines.append(f"- {label}: {quoted(s[key])}")
    return lines


def _allergy_line(a: dict) -> str:
    parts = [_word(a.get("allergy_type")), _word(a.get("severity"))]
    line = f"- {neutralise(a.get('allergen'))} ({_join(parts)})"
    if a.get("reaction"):
        line += f"; reaction: {quoted(a['reaction'])}"
    return line


def _medication_line(m: dict) -> str:
    line = (
        f"- {neutralise(m.get('medication_name'))} {neutralise(m.get('dosage'))} "
        f"{neutralise(m.get('frequency'))}, {_word(m.get('route'))}"
    )
    if m.get("status") and m["status"] != "active":
        line += f" ({_word(m['status'])})"
    if m.get("instructions"):
        line += f"; instructions: {quoted(m['instructions'])}"
    return line


def _encounter_line(e: dict) -> str:
    return (
        f"- {neutralise(e.get('encounter_date'))} {_word(e.get('encounter_type'))}: "
        f"chief complaint {quoted(e.get('chief_complaint'))}"
    )


def _section(
    title: str, rows: list[dict], render, empty: str, left_out: int = 0, note: str = ""
) -> list[str]:
    if not rows and not left_out:
        return [f"{title}: {empty}"]
    lines = [f"{title}:", *(render(row) for row in rows)]
    if left_out:
        lines.append(f"- ({left_out} {note or 'older entries not shown'})")
    return lines


def _age_words(age: Any) -> str:
    if isinstance(age, int):
        return f"{age}-year-old"
    return "aged 90 or over" if str(age) == "90+" else f"age {neutralise(age)}"


MEDICATIONS_LEFT_OUT_NOTE = "more current medications not shown: this list is INCOMPLETE"


def render_data_block(data: dict) -> str:
    demo = data.get("demographics") or {}
    left_out = data.get("left_out") or {}

    def section(title: str, key: str, render, empty: str = "none", note: str = "") -> list[str]:
        return _section(title, data.get(key) or [], render, empty, left_out.get(key, 0), note)

    lines = [
        DATA_BEGIN,
        f"Patient: {_age_words(demo.get('age'))}, sex {_word(demo.get('sex')).lower()}",
        f"Record as of: {neutralise(data.get('as_of'))}",
    ]
    lines += section("Vital signs (most recent first)", "vital_signs", _vital_line)
    lines += section("Diagnoses", "diagnoses", _diagnosis_line)
    lines += section("Lab results (most recent first)", "lab_tests", _lab_line)
    lines += section("Medical history", "medical_history", _history_line)
    lines += section("Family history", "family_history", _family_line)
    lines += _social_lines(data.get("social_history"))
    lines += section("Active allergies", "allergies", _allergy_line, "none recorded")
    lines += section(
        "Current medications",
        "current_medications",
        _medication_line,
        "none recorded",
        MEDICATIONS_LEFT_OUT_NOTE,
    )
    lines += section("Recent visits", "recent_encounters", _encounter_line)
    lines.append(DATA_END)
    return "\n".join(lines)


def render_task_prompt(data: dict) -> str:
    return TASK_TEMPLATE.substitute(data_block=render_data_block(data))


# --- Free-text fields and injection flags ----------------------------------------------------
FREE_TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("diagnoses", "notes"),
    ("diagnoses", "description"),
    ("lab_tests", "notes"),
    ("medical_history", "notes"),
    ("medical_history", "condition"),
    ("family_history", "notes"),
    ("family_history", "condition"),
    ("allergies", "reaction"),
    ("allergies", "allergen"),
    ("current_medications", "instructions"),
    ("recent_encounters", "chief_complaint"),
)
SOCIAL_TEXT_FIELDS = ("exercise", "diet", "occupation", "notes")

FIELD_LABELS = {
    "social_history.notes": "social history notes",
    "social_history.exercise": "social history (exercise)",
    "social_history.diet": "social history (diet)",
    "social_history.occupation": "social history (occupation)",
    "recent_encounters.chief_complaint": "a visit's chief complaint",
    "diagnoses.notes": "diagnosis notes",
    "diagnoses.description": "a diagnosis description",
    "lab_tests.notes": "lab notes",
    "medical_history.notes": "medical history notes",
    "medical_history.condition": "a medical history entry",
    "family_history.notes": "family history notes",
    "family_history.condition": "a family history entry",
    "allergies.reaction": "an allergy reaction",
    "allergies.allergen": "an allergy entry",
    "current_medications.instructions": "medication instructions",
}


def iter_free_text(data: dict):
    """(field, text) for every free-text value of the record."""
    social = data.get("social_history") or {}
    for key in SOCIAL_TEXT_FIELDS:
        if social.get(key):
            yield f"social_history.{key}", str(social[key])
    for section, key in FREE_TEXT_FIELDS:
        for row in data.get(section) or []:
            if row.get(key):
                yield f"{section}.{key}", str(row[key])


def detect_prompt_injection(data: dict) -> list[dict]:
    """Flags for the doctor: free text that reads like instructions to the model.

    The text itself is not copied into the flag (flags are listed on pages and in exports);
    it stays in the data block, quoted, where the model is told to treat it as data.
    """
    found: dict[str, list[str]] = {}
    for field_name, text in iter_free_text(data):
        for pattern_name, pattern in INJECTION_PATTERNS:
            if pattern.search(text):
                patterns = found.setdefault(field_name, [])
                if pattern_name not in patterns:
                    patterns.append(pattern_name)
    return [
        {
            "code": "possible_prompt_injection",
            "field": field_name,
            "patterns": patterns,
            "message": (
                f"Text in {FIELD_LABELS.get(field_name, field_name)} reads like instructions "
                "to the AI. It was sent only as patient data, but check this proposal with "
                "extra care."
            ),
        }
        for field_name, patterns in found.items()
    ]


# --- Budget ------------------------------------------------------------------------------------
@dataclass
class PromptBuild:
    """A prompt ready to send, with what is needed to record and check it."""

    system: str
    prompt: str
    data: dict  # the data actually sent (after shortening): the proposal's input_snapshot
    num_predict: int
    num_ctx: int
    estimated_tokens: int
    dropped: dict[str, int] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)
    template_version: str = PROMPT_TEMPLATE_VERSION

    @property
    def shortened(self) -> bool:
        return bool(self.dropped)

    @property
    def full_text(self) -> str:
        return f"{self.system}\n\n{self.prompt}"

    @property
    def sha256(self) -> str:
        """Hash of exactly what was sent: system message and prompt."""
        return sha256(self.full_text)

    def snapshot(self) -> dict:
        snap = copy.deepcopy(self.data)
        snap["prompt_budget"] = {
            "estimated_tokens": self.estimated_tokens,
            "num_ctx": self.num_ctx,
            "num_predict": self.num_predict,
            "shortened": self.shortened,
            "dropped": dict(self.dropped),
        }
        return snap


def needed_num_ctx(estimated_tokens: int, num_predict: int) -> int:
    """The context window for a prompt: the next power of two that holds it and the reply.

    Coarse steps on purpose: Ollama reloads the model whenever num_ctx changes, so a value
    that moved with every prompt would cost a model load per generation.
    """
    needed = estimated_tokens + num_predict + CTX_MARGIN_TOKENS
    num_ctx = MIN_NUM_CTX
    while num_ctx < needed:
        num_ctx *= 2
    return num_ctx


def build_prompt(patient_data: dict, *, num_predict: int, max_num_ctx: int) -> PromptBuild:
    """Render the prompt, shortening the data by rule until it fits `max_num_ctx`."""
    data = copy.deepcopy(patient_data)
    dropped: dict[str, int] = {}
    data["left_out"] = dropped  # rendered as "(N older entries not shown)" lines

    def measure() -> tuple[str, int]:
        prompt = render_task_prompt(data)
        return prompt, estimate_tokens(f"{SYSTEM_PROMPT}\n\n{prompt}")

    def fits(tokens: int) -> bool:
        return tokens + num_predict + CTX_MARGIN_TOKENS <= max_num_ctx

    prompt, estimate = measure()
    for key, keep in SHORTENING_STEPS:
        if fits(estimate):
            break
        rows = list(data.get(key) or [])  # newest first: the oldest entries go
        if len(rows) <= keep:
            continue
        already = dropped.get(key, 0)

        def keep_only(n: int, key=key, rows=rows, already=already) -> None:
            data[key] = rows[:n]
            dropped[key] = already + len(rows) - n

        # The most rows that fit, by bisection (a chart may hold hundreds of rows).
        low, high = keep, len(rows) - 1
        while low < high:
            middle = (low + high + 1) // 2
            keep_only(middle)
            if fits(measure()[1]):
                low = middle
            else:
                high = middle - 1
        keep_only(low)
        prompt, estimate = measure()
    if estimate + num_predict + CTX_MARGIN_TOKENS > max_num_ctx:
        raise PromptTooLargeError(
            f"The patient record needs about {estimate} tokens even after leaving out older "
            f"data, more than the model's context window allows with num_predict={num_predict} "
            f"(OLLAMA_MAX_NUM_CTX={max_num_ctx}). Raise OLLAMA_MAX_NUM_CTX or lower "
            "OLLAMA_NUM_PREDICT."
        )
    num_ctx = min(needed_num_ctx(estimate, num_predict), max_num_ctx)
    flags = detect_prompt_injection(data)
    if dropped:
        listed = ", ".join(f"{n} older {k.replace('_', ' ')}" for k, n in dropped.items())
        flags.append(
            {
                "code": "prompt_shortened",
                "dropped": dict(dropped),
                "message": (
                    "The record was too long for the model's context window; left out: "
                    f"{listed}. The proposal did not consider them."
                ),
            }
        )
    if dropped.get("current_medications"):
        flags.append(
            {
                "code": "medications_left_out",
                "count": dropped["current_medications"],
                "message": (
                    f"The patient has {dropped['current_medications']} more current "
                    "medications than the prompt could hold; the AI did not see them. Check "
                    "interactions and duplicates against the full medication list."
                ),
            }
        )
    redacted = data.get("redacted_fields") or []
    if redacted:
        labels = ", ".join(FIELD_LABELS.get(f, f) for f in redacted)
        flags.append(
            {
                "code": "identifiers_redacted",
                "fields": list(redacted),
                "message": (
                    "The patient's name, MRN or contact details appeared in free text and were "
                    f"replaced before sending: {labels}."
                ),
            }
        )
    truncated = data.get("truncated_fields") or []
    if truncated:
        labels = ", ".join(FIELD_LABELS.get(f, f) for f in truncated)
        flags.append(
            {
                "code": "free_text_capped",
                "fields": list(truncated),
                "message": f"Long free text was shortened before it was sent: {labels}.",
            }
        )
    return PromptBuild(
        system=SYSTEM_PROMPT,
        prompt=prompt,
        data=data,
        num_predict=num_predict,
        num_ctx=num_ctx,
        estimated_tokens=estimate,
        dropped=dropped,
        flags=flags,
    )
