"""AI treatment-plan proposals from a local Llama 3.2 served by Ollama.

Public interface (the specification, ../shared/spec/AI_TREATMENT_PLAN_SYSTEM.md, and the
contract in notes/contract_generator.md):

    OllamaAPIClient(base_url=None, model=None, timeout=None, connect_timeout=None)
    TreatmentPlanGenerator(model=None, client=None)
        .gather_patient_data(patient) / .build_treatment_prompt(data) / .parse_ai_response(text)
        .generate_treatment_plan(patient, provider=None, *, proposal=None, on_progress=None)
    generate_ai_treatment_plan(patient_id, provider_id=None, model=None)
    validate_patient_data_for_ai(patient) -> (ok, checks)
    GenerationError and its subclasses (each with user_message and error_type)

The pipeline: validate -> gather (fixed query count) -> build prompt (budgeted, shortened by
rule, injection flags) -> stream from Ollama (heartbeat into the proposal about every second)
-> parse (JSON schema first, headings as fallback) -> save with provenance -> audit. A failure
at any step leaves the proposal row `failed` with the reason, an audit row, and re-raises.

Logs (logger "healthcare.ai") carry ids, durations and outcomes only: never names, prompt text
or model output.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from healthcare.ai.client import (
    SERVER_HEALTH,
    OllamaAPIClient,
    ReadinessReport,
    ServerReadiness,
    parse_server_list,
)
from healthcare.ai.errors import (
    GenerationError,
    InsufficientPatientDataError,
    OllamaBusyError,
    OllamaError,
    OllamaModelNotFoundError,
    OllamaResponseError,
    OllamaServerError,
    OllamaTimeoutError,
    OllamaUnavailableError,
    PromptTooLargeError,
)
from healthcare.ai.parsing import (
    SECTION_FIELDS,
    SECTION_LABELS,
    TREATMENT_PLAN_SCHEMA,
    parse_ai_response,
)
from healthcare.ai.patient_data import (
    describe_missing,
    gather_patient_data,
    validate_patient_data_for_ai,
)
from healthcare.ai.prompt import (
    DATA_BEGIN,
    DATA_END,
    PROMPT_TEMPLATE_VERSION,
    SYSTEM_PROMPT,
    PromptBuild,
    build_prompt,
    detect_prompt_injection,
    estimate_tokens,
)
from healthcare.models import AIProposedTreatmentPlan, Patient, Provider, TreatmentPlanAuditLog

__all__ = [
    "DATA_BEGIN",
    "DATA_END",
    "PROMPT_TEMPLATE_VERSION",
    "SERVER_HEALTH",
    "SYSTEM_PROMPT",
    "TREATMENT_PLAN_SCHEMA",
    "GenerationError",
    "InsufficientPatientDataError",
    "OllamaAPIClient",
    "OllamaBusyError",
    "OllamaError",
    "OllamaModelNotFoundError",
    "OllamaResponseError",
    "OllamaServerError",
    "OllamaTimeoutError",
    "OllamaUnavailableError",
    "PromptBuild",
    "PromptTooLargeError",
    "ReadinessReport",
    "ServerReadiness",
    "TreatmentPlanGenerator",
    "detect_prompt_injection",
    "estimate_tokens",
    "generate_ai_treatment_plan",
    "parse_ai_response",
    "parse_server_list",
    "validate_patient_data_for_ai",
]

logger = logging.getLogger("healthcare.ai")


def _storable(text: str) -> str:
    """Model text as the database can keep it: PostgreSQL text cannot hold NUL characters."""
    return text.replace("\x00", "")


# prompt_eval_count below this share of our (conservative) estimate is suspicious: the
# server may not have seen the whole prompt.
LOW_PROMPT_TOKENS_RATIO = 0.1

Status = AIProposedTreatmentPlan.GenerationStatus
Action = TreatmentPlanAuditLog.Action


class TreatmentPlanGenerator:
    """Gather -> build prompt -> call Ollama -> parse -> save an AIProposedTreatmentPlan."""

    def __init__(
        self,
        model: str | None = None,
        client: OllamaAPIClient | None = None,
        *,
        options: dict | None = None,
        structured_output: bool = True,
    ) -> None:
        self.model = model or (client.model if client is not None else settings.OLLAMA_MODEL)
        self.client = client or OllamaAPIClient(model=self.model)
        self.options_override = dict(options or {})
        self.structured_output = structured_output

    # --- The spec's steps -------------------------------------------------------------------
    def gather_patient_data(self, patient: Patient) -> dict:
        """The record as JSON-ready data: age and sex, last 10 vitals, 10 diagnoses, 15 labs,
        all medical and family history, social history, active allergies, current
        medications and recent chief complaints. Nine queries whatever the record's size."""
        return gather_patient_data(patient)

    def build_treatment_prompt(self, patient_data: dict) -> str:
        """The prompt (task instructions + delimited data block), within the token budget."""
        return self.prepare_prompt(patient_data).prompt

    def parse_ai_response(self, ai_response) -> dict:
        """Sections of the reply; see healthcare.ai.parsing.parse_ai_response."""
        return parse_ai_response(ai_response)

    # --- Options and budget -------------------------------------------------------------------
    def generation_options(self) -> dict:
        """Ollama options: settings (OLLAMA_TEMPERATURE, _TOP_P, _TOP_K, _NUM_PREDICT, then the
        optional dict OLLAMA_EXTRA_OPTIONS), overridden by `options=` given to __init__."""
        options = OllamaAPIClient.default_options()
        options.update(self.options_override)
        return options

    def prepare_prompt(self, patient_data: dict) -> PromptBuild:
        options = self.generation_options()
        # An explicit num_ctx override is taken as the ceiling; the budget still applies.
        max_ctx = int(options.get("num_ctx") or settings.OLLAMA_MAX_NUM_CTX)
        return build_prompt(
            patient_data, num_predict=int(options["num_predict"]), max_num_ctx=max_ctx
        )

    # --- Generation ---------------------------------------------------------------------------
    def generate_treatment_plan(
        self,
        patient: Patient,
        provider: Provider | None = None,
        *,
        proposal: AIProposedTreatmentPlan | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> AIProposedTreatmentPlan:
        """Generate a proposal for `patient`, saved as `pending` review, and return it.

        With `proposal` (a queued or running row made by the caller), that row is filled;
        otherwise a new one is created. Without `provider`, the proposal goes to the
        proposal's provider or the patient's primary doctor. Raises a GenerationError
        subclass after recording the failure on the proposal and in the audit trail.
        """
        provider = (
            provider
            or (proposal.provider if proposal is not None and proposal.provider_id else None)
            or patient.primary_doctor
        )
        proposal = self._start(patient, provider, proposal)
        started = time.perf_counter()
        try:
            ok, checks = validate_patient_data_for_ai(patient)
            if not ok:
                missing, message = describe_missing(checks)
                raise InsufficientPatientDataError(message, missing=missing)
            build = self.prepare_prompt(self.gather_patient_data(patient))
            self._save_request(proposal, build)
            result = self.client.generate(
                build.prompt,
                stream=True,
                options=self._request_options(build),
                system=build.system,
                format=TREATMENT_PLAN_SCHEMA if self.structured_output else None,
                on_chunk=self._heartbeat(proposal, on_progress),
                keep_alive=settings.OLLAMA_KEEP_ALIVE,
                model=self.model,
            )
            if not result["response"].strip():
                raise OllamaResponseError(
                    "The model returned an empty reply. Try again; if it repeats, check the "
                    f"model '{self.model}' on {result['server']}.",
                    server=result["server"],
                )
            self._finish(proposal, build, result, self.parse_ai_response(result["response"]))
        except GenerationError as exc:
            self._fail(proposal, exc, time.perf_counter() - started)
            raise
        except Exception as exc:
            failure = GenerationError(
                "An unexpected error stopped the AI generation; the details are in the server log.",
                error_type="internal_error",
            )
            logger.error(
                "ai generation crashed proposal=%s exception=%s",
                proposal.pk,
                type(exc).__name__,
            )
            self._fail(proposal, failure, time.perf_counter() - started)
            raise
        return proposal

    def _request_options(self, build: PromptBuild) -> dict:
        options = self.generation_options()
        options["num_ctx"] = build.num_ctx
        options["num_predict"] = build.num_predict
        return options

    def _start(self, patient, provider, proposal) -> AIProposedTreatmentPlan:
        now = timezone.now()
        if proposal is None:
            proposal = AIProposedTreatmentPlan.objects.create(
                patient=patient,
                provider=provider,
                ai_model_name=self.model,
                generation_status=Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                attempts=1,
            )
            TreatmentPlanAuditLog.record(
                Action.GENERATION_REQUESTED,
                actor=_actor(provider),
                proposal=proposal,
                patient_id=patient.pk,
                changes={"proposal_id": proposal.pk, "model": self.model},
            )
        else:
            if proposal.patient_id != patient.pk:
                raise ValueError("The proposal belongs to another patient.")
            if proposal.generation_status not in AIProposedTreatmentPlan.IN_PROGRESS_GENERATION:
                raise ValueError(
                    "Only a queued or running proposal can be generated; this one is "
                    f"{proposal.generation_status}."
                )
            proposal.generation_status = Status.RUNNING
            proposal.started_at = proposal.heartbeat_at = now
            proposal.attempts = (proposal.attempts or 0) + 1
            proposal.ai_model_name = self.model
            proposal.failure_reason = proposal.error_type = proposal.incomplete_reason = ""
            proposal.raw_response = ""
            proposal.completed_at = None
            fields = [
                "generation_status",
                "started_at",
                "heartbeat_at",
                "attempts",
                "ai_model_name",
                "failure_reason",
                "error_type",
                "incomplete_reason",
                "raw_response",
                "completed_at",
                "updated_at",
            ]
            if proposal.provider_id is None and provider is not None:
                proposal.provider = provider
                fields.append("provider")
            proposal.save(update_fields=fields)
        logger.info(
            "ai generation started proposal=%s patient=%s provider=%s attempt=%s",
            proposal.pk,
            patient.pk,
            provider.pk if provider else None,
            proposal.attempts,
        )
        return proposal

    def _save_request(self, proposal, build: PromptBuild) -> None:
        """What is sent is recorded before the call, so a failed attempt keeps it too."""
        proposal.input_snapshot = build.snapshot()
        proposal.prompt_template_version = build.template_version
        proposal.prompt_sha256 = build.sha256
        proposal.generation_options = self._request_options(build) | {
            "keep_alive": settings.OLLAMA_KEEP_ALIVE,
            "format": "json_schema" if self.structured_output else None,
            "stream": True,
        }
        proposal.num_ctx = build.num_ctx
        proposal.safety_flags = list(build.flags)
        proposal.save(
            update_fields=[
                "input_snapshot",
                "prompt_template_version",
                "prompt_sha256",
                "generation_options",
                "num_ctx",
                "safety_flags",
                "updated_at",
            ]
        )

    def _heartbeat(self, proposal, on_progress):
        # Seconds between saves of the streamed text into the proposal (and on_progress calls).
        interval = float(settings.AI_HEARTBEAT_SECONDS)
        last = [time.monotonic()]

        def on_chunk(text_so_far: str) -> None:
            now = time.monotonic()
            if now - last[0] < interval:
                return
            last[0] = now
            # Narrow update: never a full save, so the caller's fields are not clobbered.
            AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
                raw_response=_storable(text_so_far), heartbeat_at=timezone.now()
            )
            if on_progress is not None:
                try:
                    on_progress(text_so_far)
                except Exception as exc:  # a broken progress listener must not stop the work
                    logger.warning(
                        "ai progress callback failed proposal=%s exception=%s",
                        proposal.pk,
                        type(exc).__name__,
                    )

        return on_chunk

    def _finish(self, proposal, build: PromptBuild, result: dict, parsed: dict) -> None:
        flags = list(build.flags)
        reasons = []
        if result["done_reason"] == "length":
            reasons.append(
                f"The model reached its length limit (num_predict={build.num_predict}) "
                "before finishing: the text may be cut short."
            )
        if parsed["missing_sections"]:
            labels = ", ".join(SECTION_LABELS[f].lower() for f in parsed["missing_sections"])
            reasons.append(f"The reply lacks these sections: {labels}.")
        elif not parsed["is_complete"]:
            reasons.append("The reply was not valid JSON; its sections were recovered in part.")
        prompt_tokens = result["prompt_tokens"]
        if result["prompt_truncated"]:  # the client compares prompt_tokens with num_ctx
            reasons.append(
                f"The prompt filled the whole context window ({prompt_tokens} of "
                f"{result['num_ctx']} tokens): the server may have cut the start of it."
            )
            flags.append(
                {
                    "code": "possible_prompt_truncation",
                    "message": "The AI server may not have seen the whole prompt; the "
                    "proposal may ignore part of the record or the instructions.",
                }
            )
        elif (
            prompt_tokens is not None
            and prompt_tokens < build.estimated_tokens * LOW_PROMPT_TOKENS_RATIO
        ):
            flags.append(
                {
                    "code": "prompt_tokens_low",
                    "message": f"The AI server read {prompt_tokens} prompt tokens, far fewer "
                    f"than the ~{build.estimated_tokens} expected: part of the record may "
                    "have been lost.",
                }
            )
        if self.structured_output and not parsed["structured"]:
            flags.append(
                {
                    "code": "unstructured_reply",
                    "message": "The model did not keep to the JSON format; the sections were "
                    "recovered from its text. Check them against the full text.",
                }
            )

        server = result["server"]
        proposal.model_digest = self._safe(lambda: self.client.model_digest(server=server))
        proposal.ollama_version = self._safe(lambda: self.client.server_version(server))
        proposal.ollama_server = server
        proposal.ai_model_name = self.model
        for field_name in SECTION_FIELDS:
            setattr(proposal, field_name, parsed[field_name])
        proposal.proposed_treatment = parsed["proposed_treatment"]
        proposal.structured_output = parsed["structured"]
        # The hash is of what the model sent; the stored text drops what a database can't hold.
        proposal.raw_response = _storable(result["response"])
        proposal.response_sha256 = hashlib.sha256(result["response"].encode()).hexdigest()
        proposal.safety_flags = flags
        proposal.prompt_tokens = prompt_tokens
        proposal.completion_tokens = result["completion_tokens"]
        proposal.total_duration_ns = result["total_duration"]
        proposal.load_duration_ns = result["load_duration"]
        proposal.prompt_eval_duration_ns = result["prompt_eval_duration"]
        proposal.eval_duration_ns = result["eval_duration"]
        proposal.done_reason = result["done_reason"]
        proposal.generation_time_seconds = result["generation_time"]
        proposal.generation_status = Status.INCOMPLETE if reasons else Status.COMPLETED
        proposal.incomplete_reason = " ".join(reasons)
        proposal.failure_reason = proposal.error_type = ""
        proposal.completed_at = proposal.heartbeat_at = timezone.now()
        with transaction.atomic():
            proposal.save(
                update_fields=[
                    *SECTION_FIELDS,
                    "proposed_treatment",
                    "structured_output",
                    "raw_response",
                    "response_sha256",
                    "safety_flags",
                    "prompt_tokens",
                    "completion_tokens",
                    "total_duration_ns",
                    "load_duration_ns",
                    "prompt_eval_duration_ns",
                    "eval_duration_ns",
                    "done_reason",
                    "generation_time_seconds",
                    "generation_status",
                    "incomplete_reason",
                    "failure_reason",
                    "error_type",
                    "completed_at",
                    "heartbeat_at",
                    "model_digest",
                    "ollama_version",
                    "ollama_server",
                    "ai_model_name",
                    "updated_at",
                ]
            )
            TreatmentPlanAuditLog.record(
                Action.GENERATION_INCOMPLETE if reasons else Action.GENERATION_SUCCEEDED,
                actor=_actor(proposal.provider),
                proposal=proposal,
                changes={
                    "generation_status": proposal.generation_status,
                    "attempt": proposal.attempts,
                    "model": self.model,
                    "model_digest": proposal.model_digest,
                    "server": server,
                    "prompt_tokens": proposal.prompt_tokens,
                    "completion_tokens": proposal.completion_tokens,
                    "generation_time_seconds": proposal.generation_time_seconds,
                    "done_reason": proposal.done_reason,
                    "incomplete_reason": proposal.incomplete_reason,
                    "safety_flags": [f["code"] for f in flags],
                },
            )
        logger.info(
            "ai generation finished proposal=%s status=%s server=%s seconds=%.2f "
            "prompt_tokens=%s completion_tokens=%s done_reason=%s structured=%s",
            proposal.pk,
            proposal.generation_status,
            server,
            proposal.generation_time_seconds or 0.0,
            proposal.prompt_tokens,
            proposal.completion_tokens,
            proposal.done_reason,
            proposal.structured_output,
        )

    def _fail(self, proposal, exc: GenerationError, elapsed: float) -> None:
        try:
            proposal.generation_status = Status.FAILED
            proposal.failure_reason = exc.user_message
            proposal.error_type = exc.error_type[:60]
            proposal.completed_at = timezone.now()
            server = getattr(exc, "server", "")
            fields = [
                "generation_status",
                "failure_reason",
                "error_type",
                "completed_at",
                "updated_at",
            ]
            if server:
                proposal.ollama_server = server
                fields.append("ollama_server")
            with transaction.atomic():
                proposal.save(update_fields=fields)
                TreatmentPlanAuditLog.record(
                    Action.GENERATION_FAILED,
                    actor=_actor(proposal.provider),
                    proposal=proposal,
                    changes={
                        "generation_status": Status.FAILED,
                        "attempt": proposal.attempts,
                        "error_type": proposal.error_type,
                        "reason": proposal.failure_reason,
                        "model": self.model,
                        "server": server,
                    },
                )
        except Exception as db_exc:  # the original error matters more; keep it raising
            logger.error(
                "ai generation failure not recorded proposal=%s exception=%s",
                proposal.pk,
                type(db_exc).__name__,
            )
        logger.warning(
            "ai generation failed proposal=%s error_type=%s seconds=%.2f",
            proposal.pk,
            exc.error_type,
            elapsed,
        )

    @staticmethod
    def _safe(call) -> str:
        """Provenance lookups must not turn a good proposal into a failure."""
        try:
            return str(call() or "")
        except OllamaError as exc:
            logger.warning("ai provenance lookup failed error_type=%s", exc.error_type)
            return ""


def _actor(provider: Provider | None):
    return provider.user if provider is not None and provider.user_id else None


def generate_ai_treatment_plan(
    patient_id: int, provider_id: int | None = None, model: str | None = None
) -> AIProposedTreatmentPlan:
    """One-liner from the specification: load the patient (and doctor) and generate."""
    patient = Patient.objects.select_related("primary_doctor__user").get(patient_id=patient_id)
    provider = (
        Provider.objects.select_related("user").get(provider_id=provider_id)
        if provider_id is not None
        else None
    )
    return TreatmentPlanGenerator(model=model).generate_treatment_plan(patient, provider)
