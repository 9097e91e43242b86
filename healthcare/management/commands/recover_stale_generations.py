"""Mark failed the AI generations whose worker died, so none stays "running" forever.

    manage.py recover_stale_generations [--older-than SECONDS]

Run it before starting the workers (scripts/run.sh) and from cron if you like; the workers also
run it before every job, and the status page checks the job it shows. A generation counts as
dead when it has sent no heartbeat for GENERATION_STALE_AFTER_SECONDS (default 120), or when it
is queued, was never picked up, and its task is gone from the queue. It is marked failed with
the reason; the doctor presses Retry (see docs/background_generation.md).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from healthcare.services.generation import recover_stale_generations


class Command(BaseCommand):
    help = "Mark failed the AI generations whose worker stopped (no heartbeat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="Seconds without heartbeat (default: GENERATION_STALE_AFTER_SECONDS, "
            f"now {settings.GENERATION_STALE_AFTER_SECONDS}).",
        )

    def handle(self, *args, **options) -> None:
        older = options["older_than"]
        recovered = recover_stale_generations(
            older_than=timedelta(seconds=older) if older is not None else None
        )
        ids = ", ".join(map(str, recovered))
        self.stdout.write(
            f"Recovered {len(recovered)} stale generation(s){': proposals ' + ids if ids else ''}."
        )
