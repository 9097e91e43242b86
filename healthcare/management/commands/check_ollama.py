"""`python manage.py check_ollama`: is every configured Ollama server ready for generation?

For each server in OLLAMA_API_URL (or --url): reachable, version, whether the model is pulled
and its digest; with --generate, the time of a tiny test generation. Exits non-zero (a
CommandError) when no server is ready, with a message that says what to do.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from healthcare.ai_treatment_generator import OllamaAPIClient, OllamaError

TEST_PROMPT = "Reply with the single word: OK"


class Command(BaseCommand):
    help = "Check that the Ollama server(s) answer and have the configured model."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            help="Server URL(s), comma-separated (default: settings.OLLAMA_API_URL).",
        )
        parser.add_argument("--model", help="Model to look for (default: settings.OLLAMA_MODEL).")
        parser.add_argument(
            "--generate",
            action="store_true",
            help="Also time a tiny test generation on every ready server.",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            help="Read timeout in seconds for the test generation (default: OLLAMA_TIMEOUT).",
        )

    def handle(self, *args, **options):
        client = OllamaAPIClient(
            base_url=options.get("url") or settings.OLLAMA_API_URL,
            model=options.get("model") or settings.OLLAMA_MODEL,
            timeout=options.get("timeout"),
        )
        report = client.check_ready()
        self.stdout.write(f"Model: {report.model}")
        ready = 0
        for server in report.servers:
            self.stdout.write(f"Server {server.url}")
            if not server.reachable:
                self.stdout.write(self.style.ERROR(f"  reachable: no ({server.error})"))
                continue
            self.stdout.write(f"  reachable: yes, version {server.version or 'unknown'}")
            if not server.model_present:
                self.stdout.write(self.style.ERROR(f"  model: {server.error}"))
                continue
            self.stdout.write(f"  model {report.model}: present, digest {server.digest}")
            if options["generate"] and not self._test_generation(client, server.url):
                continue
            ready += 1
            self.stdout.write(self.style.SUCCESS("  ready"))

        total = len(report.servers)
        if not ready:
            problems = "; ".join(report.errors)
            raise CommandError(
                f"No Ollama server is ready for model '{report.model}'"
                + (f": {problems}" if problems else ".")
            )
        self.stdout.write(self.style.SUCCESS(f"{ready} of {total} server(s) ready."))

    def _test_generation(self, client: OllamaAPIClient, url: str) -> bool:
        try:
            result = client.generate(
                TEST_PROMPT,
                # The client sizes num_ctx (the smallest window, 2048, for this prompt).
                options={"num_predict": 8, "temperature": 0},
                server=url,
            )
        except OllamaError as exc:
            self.stdout.write(self.style.ERROR(f"  test generation failed: {exc.user_message}"))
            return False
        self.stdout.write(
            f"  test generation: {result['generation_time']:.2f} s "
            f"({result['prompt_tokens']} prompt + {result['completion_tokens']} completion "
            f"tokens, load {_seconds(result['load_duration'])})"
        )
        return True


def _seconds(ns) -> str:
    return f"{ns / 1e9:.2f} s" if isinstance(ns, int | float) else "n/a"
