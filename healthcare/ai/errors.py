"""Typed errors of the AI core.

Every error carries `user_message` (a sentence a doctor or an operator can act on, with no
patient data in it) and `error_type` (a short code stored on the proposal and in the audit).
"""

from __future__ import annotations

import requests


class GenerationError(Exception):
    error_type = "generation_error"
    default_message = "The AI proposal could not be generated."

    def __init__(self, user_message: str | None = None, *, error_type: str | None = None):
        self.user_message = user_message or self.default_message
        if error_type:
            self.error_type = error_type
        super().__init__(self.user_message)


class InsufficientPatientDataError(GenerationError):
    error_type = "insufficient_data"
    default_message = "Insufficient patient data for treatment plan."

    def __init__(self, user_message: str | None = None, *, missing: list[str] | None = None):
        self.missing = list(missing or [])
        super().__init__(user_message)


class PromptTooLargeError(GenerationError):
    """Even after shortening by rule, the prompt does not fit OLLAMA_MAX_NUM_CTX."""

    error_type = "prompt_too_large"
    default_message = "The patient record is too large for the model's context window."


class OllamaError(GenerationError):
    error_type = "ollama_error"
    default_message = "The AI server (Ollama) reported a problem."

    def __init__(self, user_message: str | None = None, *, server: str = "", **kwargs):
        self.server = server
        super().__init__(user_message, **kwargs)


# The timeout and connection errors are also the `requests` exceptions of the same meaning, so
# code written from the specification (`except requests.exceptions.Timeout:`) catches them.
class OllamaUnavailableError(OllamaError, requests.exceptions.ConnectionError):
    """Connection refused, DNS failure, nothing listening."""

    error_type = "ollama_unavailable"
    default_message = "The AI server (Ollama) cannot be reached. Check that `ollama serve` runs."


class OllamaTimeoutError(OllamaError, requests.exceptions.Timeout):
    """Connect or read timeout; `phase` says which ("connect" or "read")."""

    error_type = "ollama_timeout"
    default_message = "The AI server (Ollama) did not answer in time. Please try again."

    def __init__(self, user_message: str | None = None, *, server: str = "", phase: str = "read"):
        self.phase = phase
        super().__init__(user_message, server=server)


class OllamaModelNotFoundError(OllamaError):
    error_type = "model_not_found"

    def __init__(self, model: str, *, server: str = "", detail: str = ""):
        self.model = model
        where = f" on {server}" if server else ""
        message = f"model '{model}' not found{where}: run `ollama pull {model}`"
        if detail and model not in detail:
            message += f" ({detail})"
        super().__init__(message, server=server)


class OllamaBusyError(OllamaError):
    """503: the server's queue is full (OLLAMA_MAX_QUEUE)."""

    error_type = "ollama_busy"
    default_message = "The AI server (Ollama) is busy. Please try again in a minute."


class OllamaServerError(OllamaError):
    """Other 5xx, 400, or an error line in the middle of a stream."""

    error_type = "ollama_server_error"
    default_message = "The AI server (Ollama) reported an error."


class OllamaResponseError(OllamaError):
    """Malformed JSON, an empty reply, or a stream cut before `done`."""

    error_type = "ollama_bad_response"
    default_message = "The AI server (Ollama) sent a reply that could not be read."
