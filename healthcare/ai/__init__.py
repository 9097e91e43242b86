"""Building blocks of the AI core; the public names live in healthcare.ai_treatment_generator.

- errors: the typed exceptions (each with a `user_message` and an `error_type` code)
- client: OllamaAPIClient (one requests.Session, several servers, streaming NDJSON)
- patient_data: what is read from the record (fixed query count, JSON-serialisable)
- prompt: the prompt, its token budget, shortening by rule and prompt-injection flags
- parsing: the JSON schema for structured output and the fallback heading parser
"""
