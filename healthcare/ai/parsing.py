"""From the model's text to the proposal's sections.

The generator asks for JSON through Ollama's `format` (a JSON Schema). Small models still break
it (a reply cut by `num_predict`, wrong types, extra prose), so parsing goes:

1. JSON: the whole reply (code fences allowed), validated against the schema by hand;
2. salvage: key/value pairs recovered from JSON that was cut off or malformed;
3. headings: a free-text parser for `## MEDICATIONS`, `**Medications:**`, `1. Medications`,
   `MEDICATIONS:`, in any order and with common synonyms.

`parse_ai_response` never raises on any string; text it cannot place stays in
`proposed_treatment`, which always holds the whole reply in readable form.
"""

from __future__ import annotations

import json
import re
from typing import Any

# (JSON key, model field, label) in the order they are shown.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("clinical_assessment", "clinical_assessment", "Clinical assessment"),
    ("treatment_goals", "treatment_goals", "Treatment goals"),
    ("medications", "medications_suggested", "Medications"),
    ("lifestyle_recommendations", "lifestyle_recommendations", "Lifestyle recommendations"),
    ("follow_up", "follow_up_recommendations", "Follow-up"),
    ("warnings_and_precautions", "warnings_and_precautions", "Warnings and precautions"),
)
SECTION_FIELDS = tuple(f for _, f, _ in SECTIONS)
SECTION_LABELS = {f: label for _, f, label in SECTIONS}
REQUIRED_SECTIONS = SECTION_FIELDS

TREATMENT_PLAN_SCHEMA: dict = {
    "type": "object",
    "properties": {key: {"type": "string"} for key, _, _ in SECTIONS},
    "required": [key for key, _, _ in SECTIONS],
}

_FIELD_BY_KEY = {key: f for key, f, _ in SECTIONS}

# Whole-heading synonyms (normalised: lower case, "&" -> "and", punctuation -> space).
HEADING_SYNONYMS: dict[str, tuple[str, ...]] = {
    "clinical_assessment": (
        "assessment",
        "clinical assessment",
        "clinical impression",
        "impression",
        "assessment and plan",
        "summary",
        "clinical summary",
        "diagnosis",
        "diagnoses",
        "evaluation",
        "problem list",
        "patient assessment",
        "overview",
        "analysis",
        "clinical evaluation",
        "assessment summary",
    ),
    "treatment_goals": (
        "goals",
        "goal",
        "treatment goals",
        "treatment objectives",
        "objectives",
        "therapeutic goals",
        "goals of care",
        "goals of treatment",
        "targets",
        "treatment targets",
        "clinical goals",
    ),
    "medications_suggested": (
        "medications",
        "medication",
        "medications suggested",
        "suggested medications",
        "recommended medications",
        "medication recommendations",
        "medication plan",
        "medication changes",
        "medication management",
        "pharmacotherapy",
        "pharmacological treatment",
        "pharmacological management",
        "pharmacologic therapy",
        "pharmacological therapy",
        "drug therapy",
        "medical therapy",
        "prescriptions",
        "drugs",
        "medicines",
    ),
    "lifestyle_recommendations": (
        "lifestyle",
        "lifestyle modifications",
        "lifestyle modification",
        "lifestyle recommendations",
        "lifestyle changes",
        "lifestyle interventions",
        "lifestyle advice",
        "diet and exercise",
        "non pharmacological treatment",
        "non pharmacological management",
        "non pharmacological recommendations",
        "nonpharmacological treatment",
        "self care",
        "diet",
        "exercise",
        "nutrition",
    ),
    "follow_up_recommendations": (
        "follow up",
        "followup",
        "follow up recommendations",
        "follow up plan",
        "follow up care",
        "follow up instructions",
        "monitoring",
        "monitoring and follow up",
        "follow up and monitoring",
        "next steps",
        "recommended follow up",
    ),
    "warnings_and_precautions": (
        "warnings",
        "warning",
        "precautions",
        "warnings and precautions",
        "precautions and warnings",
        "red flags",
        "warning signs",
        "contraindications",
        "cautions",
        "safety considerations",
        "safety",
        "alerts",
        "drug interactions",
        "safety warnings",
        "important warnings",
    ),
}
_SYNONYM_TO_FIELD = {
    phrase: field_name for field_name, phrases in HEADING_SYNONYMS.items() for phrase in phrases
}

# Lenient keywords for clearly marked headings (##, bold, ALL CAPS, "Title:" alone on a line).
# Order matters: "Non-pharmacological" before "pharmacolog", "Follow-up monitoring" before all.
_HEADING_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "warnings_and_precautions",
        (
            "warning",
            "precaution",
            "red flag",
            "contraindicat",
            "caution",
            "safety",
            "interaction",
            "alert",
        ),
    ),
    ("follow_up_recommendations", ("follow", "monitor", "next step", "recheck")),
    (
        "lifestyle_recommendations",
        (
            "lifestyle",
            "non pharmacolog",
            "nonpharmacolog",
            "diet",
            "exercise",
            "self care",
            "nutrition",
            "physical activity",
        ),
    ),
    ("treatment_goals", ("goal", "objective", "target")),
    (
        "medications_suggested",
        ("medication", "medicine", "pharmacolog", "pharmacotherapy", "drug", "prescription"),
    ),
    (
        "clinical_assessment",
        (
            "assessment",
            "impression",
            "summary",
            "evaluation",
            "diagnos",
            "problem list",
            "analysis",
        ),
    ),
)

# JSON keys a model may use instead of the schema's.
_JSON_KEY_ALIASES = {
    "medications_suggested": "medications",
    "follow_up_recommendations": "follow_up",
    "followup": "follow_up",
    "assessment": "clinical_assessment",
    "goals": "treatment_goals",
    "lifestyle": "lifestyle_recommendations",
    "lifestyle_modifications": "lifestyle_recommendations",
    "warnings": "warnings_and_precautions",
    "precautions": "warnings_and_precautions",
}

_MAX_HEADING_WORDS = 6
_MAX_HEADING_CHARS = 60


def normalise_heading(text: str) -> str:
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def classify_heading(title: str, *, strict: bool) -> str | None:
    """The section a heading names, or None. `strict`: the whole heading must be a synonym."""
    norm = normalise_heading(title)
    if not norm:
        return None
    if norm in _SYNONYM_TO_FIELD:
        return _SYNONYM_TO_FIELD[norm]
    if strict:
        return None
    for field_name, keywords in _HEADING_KEYWORDS:
        if any(k in norm for k in keywords):
            return field_name
    return None


_UNKNOWN = "__unknown__"
_HASH_RE = re.compile(r"^#{1,6}\s*")
_NUMBER_RE = re.compile(r"^(?:\d{1,2}|[IVX]{1,4})[.)]\s+")
_BOLD_RE = re.compile(r"^(\*\*|__)(.+?)\1\s*(.*)$")


def split_heading(line: str) -> tuple[str, str] | None:
    """`(section field or _UNKNOWN, text after the heading)` when `line` is a heading."""
    s = line.strip()
    if not s or len(s) > 300:
        return None
    hashed = numbered = bold = colon = False
    m = _HASH_RE.match(s)
    if m:
        hashed, s = True, s[m.end() :]
    m = _NUMBER_RE.match(s)
    if m:
        numbered, s = True, s[m.end() :]
    m = _BOLD_RE.match(s)
    if m:
        bold, title, after = True, m.group(2).strip(), m.group(3).strip()
        if title.endswith(":"):
            colon, title = True, title[:-1]
        if after.startswith(":"):
            colon, after = True, after[1:].strip()
    elif ":" in s:
        title, after = s.split(":", 1)
        colon, after = True, after.strip()
    else:
        title, after = s, ""
    title = title.strip(" *_#\t-").strip()
    if not title or len(title) > _MAX_HEADING_CHARS or len(title.split()) > _MAX_HEADING_WORDS:
        return None
    all_caps = title.isupper() and sum(ch.isalpha() for ch in title) >= 3
    marked = hashed or bold or all_caps or (colon and not after)
    if not (marked or numbered or colon):
        return None
    # A numbered item or "Word: text" inside a section is usually content ("1. Monitor BP
    # weekly", "Target: below 130/80"): only a whole-heading synonym counts there.
    section = classify_heading(title, strict=not marked)
    if section is not None:
        return section, after
    if hashed:
        return _UNKNOWN, after
    return None


def _to_text(value: Any) -> str:
    """Render a JSON value a model put in a section as plain text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list):
        lines = [_to_text(item) for item in value]
        return "\n".join(f"- {line}" for line in lines if line)
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            text = _to_text(item)
            if text:
                lines.append(f"{key}: {text}" if "\n" not in text else f"{key}:\n{text}")
        return "\n".join(lines)
    return str(value).strip()


def _strip_fences(text: str) -> str:
    s = text.strip()
    m = re.match(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", s, re.DOTALL)
    return m.group(1).strip() if m else s


def _json_field(key: str) -> str | None:
    k = str(key).strip()
    k = _JSON_KEY_ALIASES.get(k.lower(), k.lower())
    if k in _FIELD_BY_KEY:
        return _FIELD_BY_KEY[k]
    return classify_heading(k.replace("_", " "), strict=False)


def _sections_from_mapping(data: dict) -> tuple[dict[str, str], dict[str, str], list[str]]:
    sections: dict[str, str] = {}
    extras: dict[str, str] = {}
    problems: list[str] = []
    for key, value in data.items():
        field_name = _json_field(key)
        if not isinstance(value, str):
            problems.append(f"'{key}' is not text")
        text = _to_text(value)
        if field_name is None:
            if text:
                extras[str(key)] = text
            continue
        sections[field_name] = (
            f"{sections[field_name]}\n{text}" if sections.get(field_name) else text
        )
    return sections, extras, problems


def _parse_json(text: str) -> tuple[dict, str, str] | None:
    """The JSON object in a reply, with any prose the model wrote before and after it."""
    body = _strip_fences(text)
    before = after = ""
    if not body.startswith("{"):
        start, end = body.find("{"), body.rfind("}")
        if start == -1 or end <= start:
            return None
        before, after = _strip_fences(body[:start]), _strip_fences(body[end + 1 :])
        body = body[start : end + 1]
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return (data, before, after) if isinstance(data, dict) else None


_PAIR_RE = re.compile(r'"([A-Za-z_ \-]{1,60})"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|$)', re.DOTALL)


def _salvage_json(text: str) -> dict[str, str]:
    """Key/value string pairs from JSON that was cut off or is slightly malformed."""
    pairs: dict[str, str] = {}
    for key, raw in _PAIR_RE.findall(text):
        try:
            value = json.loads(f'"{raw}"')
        except ValueError:
            value = raw.replace('\\"', '"').replace("\\n", "\n")
        if key not in pairs:
            pairs[key] = value
    return pairs


def _parse_headings(text: str) -> tuple[dict[str, str], bool]:
    """Sections from free text with headings; second value: whether any heading was found."""
    collected: dict[str, list[str]] = {}
    current: str | None = None
    found = False
    for line in text.splitlines():
        heading = split_heading(line)
        if heading is not None:
            found = True
            section, after = heading
            current = None if section == _UNKNOWN else section
            if current and after:
                collected.setdefault(current, []).append(after)
            elif current:
                collected.setdefault(current, [])
            continue
        if current:
            collected.setdefault(current, []).append(line.rstrip())
    sections = {k: "\n".join(v).strip() for k, v in collected.items()}
    return sections, found


def _render_sections(sections: dict[str, str], extras: dict[str, str]) -> str:
    blocks = [f"{SECTION_LABELS[f]}:\n{sections[f]}" for f in SECTION_FIELDS if sections.get(f)]
    blocks += [f"{key}:\n{value}" for key, value in extras.items()]
    return "\n\n".join(blocks)


def _result(text, sections, *, structured, method, proposed, problems) -> dict:
    # JSON escapes (\u0000) can smuggle NUL into a section; PostgreSQL text cannot hold it.
    result: dict[str, Any] = {
        f: (sections.get(f) or "").replace("\x00", "").strip() for f in SECTION_FIELDS
    }
    proposed = proposed.replace("\x00", "")
    missing = [f for f in REQUIRED_SECTIONS if not result[f]]
    result.update(
        proposed_treatment=proposed,
        structured=structured,
        parse_method=method,
        missing_sections=missing,
        problems=problems,
        # A salvaged reply was broken JSON: whatever it says, it did not finish properly.
        is_complete=not missing and method != "salvaged",
    )
    return result


def parse_ai_response(ai_response: Any) -> dict:
    """Split the model's reply into the proposal's sections.

    Returns a dict with one key per section field (`clinical_assessment`, `treatment_goals`,
    `medications_suggested`, `lifestyle_recommendations`, `follow_up_recommendations`,
    `warnings_and_precautions`), `proposed_treatment` (the whole reply, readable),
    `structured` (True when it was valid JSON), `parse_method` (json/salvaged/headings/none),
    `missing_sections`, `problems` (schema violations) and `is_complete`.
    """
    if isinstance(ai_response, dict):
        text = json.dumps(ai_response, ensure_ascii=False)
    else:
        text = "" if ai_response is None else str(ai_response)
    text = text.replace("\x00", "").strip()

    parsed_json = _parse_json(text)
    if parsed_json is not None:
        data, before, after = parsed_json
        sections, extras, problems = _sections_from_mapping(data)
        if sections or extras:
            missing_keys = [k for k, f, _ in SECTIONS if f not in sections]
            problems += [f"'{k}' is missing" for k in missing_keys]
            # Nothing the model wrote is dropped: prose around the object stays readable.
            proposed = "\n\n".join(
                part for part in (before, _render_sections(sections, extras), after) if part
            )
            return _result(
                text,
                sections,
                structured=bool(sections),
                method="json",
                proposed=proposed or text,
                problems=problems,
            )

    if _strip_fences(text).startswith("{"):
        pairs = _salvage_json(text)
        if pairs:
            sections, extras, _ = _sections_from_mapping(pairs)
            if sections:
                return _result(
                    text,
                    sections,
                    structured=False,
                    method="salvaged",
                    proposed=_render_sections(sections, extras) or text,
                    problems=["the reply was not valid JSON"],
                )

    sections, found = _parse_headings(text)
    return _result(
        text,
        sections,
        structured=False,
        method="headings" if found else "none",
        proposed=text,
        problems=[],
    )
