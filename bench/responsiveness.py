"""Benchmark (a): is the site still responsive while AI proposals are being generated?

The app runs under gunicorn on 127.0.0.1 with its background workers; a slow Ollama stand-in
(bench/slow_ollama.py) takes 10 s per proposal. At rest, then while `--generations` (8)
proposals are started at once through the real Generate view (and their status pages poll every
second, as the browser does), we time the doctor's dashboard, a patient chart and the patient
portal. Prints median and 95th percentile of each, during load / at rest (target: <= 1.5).

    .venv/bin/python bench/responsiveness.py                # SQLite file (the default setup)
    .venv/bin/python bench/responsiveness.py --postgres postgres://postgres@127.0.0.1:5432/x
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import csrf_token, login, site, slow_ollama, summary

SEED = "import json; from bench import seed; print('RESULT:' + json.dumps(seed.site({n})))"


def measure(sessions: dict, pages: dict, stop: threading.Event | None, min_rounds: int) -> dict:
    """Time each page in turn until `stop` is set (and at least `min_rounds` rounds)."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    rounds = 0
    while rounds < min_rounds or (stop is not None and not stop.is_set()):
        for name, (who, url) in pages.items():
            started = time.perf_counter()
            response = sessions[who].get(url, timeout=60)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {response.status_code}")
            times[name].append(elapsed)
        rounds += 1
        if stop is None and rounds >= min_rounds:
            break
    return times


class Burst:
    """`--generations` Generate clicks at once, then each proposal's page polling its status
    every second until done (as the browser does), while `work` measures the pages."""

    def __init__(self, base: str, clickers: list, watcher, patient_ids: list[int], args):
        self.base, self.clickers, self.watcher = base, clickers, watcher
        self.patient_ids, self.args = patient_ids, args
        self.post_times: list[float] = []
        self.generation_times: list[float] = []

    def click(self, n: int) -> str:
        url = f"{self.base}/doctor/patients/{self.patient_ids[n]}/generate-ai-proposal/"
        session = self.clickers[n]
        token = csrf_token(session, url)
        started = time.perf_counter()
        response = session.post(
            url,
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=60,
        )
        self.post_times.append(time.perf_counter() - started)
        if response.status_code != 302:
            raise RuntimeError(f"Generate: HTTP {response.status_code}")
        return response.headers["Location"]

    def watch(self, location: str, results: dict) -> None:
        proposal_id = int(re.search(r"/ai-proposals/(\d+)/", location).group(1))
        url = f"{self.base}/doctor/ai-proposals/{proposal_id}/status/"
        began = time.perf_counter()
        deadline = began + self.args.seconds * self.args.generations + 120
        while time.perf_counter() < deadline:
            state = self.watcher.get(url, timeout=60).json()
            if state["done"]:
                results[proposal_id] = state["generation_status"]
                self.generation_times.append(time.perf_counter() - began)
                return
            time.sleep(1.0)
        results[proposal_id] = "timeout"

    def run(self, work) -> dict:
        # All clicks at once (each fetches its form first; only the POST is timed).
        results: dict = {}
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=len(self.patient_ids)) as pool:
            locations = list(pool.map(self.click, range(len(self.patient_ids))))
        watchers = [threading.Thread(target=self.watch, args=(loc, results)) for loc in locations]
        for thread in watchers:
            thread.start()
        measured: dict = {}
        measurer = threading.Thread(target=lambda: measured.update(work(stop)))
        measurer.start()
        for thread in watchers:
            thread.join()
        stop.set()
        measurer.join()
        bad = {k: v for k, v in results.items() if v not in ("completed", "incomplete")}
        if bad:
            raise RuntimeError(f"generations did not complete: {bad}")
        return measured


def run(args) -> dict:
    with (
        slow_ollama(seconds=args.seconds) as ollama_url,
        site(ollama_url=ollama_url, postgres_url=args.postgres) as s,
    ):
        s.setup()
        data = s.run_python(SEED.format(n=args.generations))
        base = s.start_web(workers=args.web_workers)
        s.start_workers(args.workers)
        doctor = login(base, data["doctor"], data["password"])
        watcher = login(base, data["doctor"], data["password"])  # the doctor's status pages
        patient = login(base, data["patient"], data["password"])
        sessions = {"doctor": doctor, "patient": patient}
        chart = f"{base}/doctor/patients/{data['patient_ids'][1]}/"
        pages = {
            "doctor dashboard": ("doctor", f"{base}/doctor/"),
            "patient chart (doctor)": ("doctor", chart),
            "patient portal": ("patient", f"{base}/patient/treatment-plans/"),
        }
        measure(sessions, pages, None, 5)  # warm up every gunicorn worker a little
        rest: dict[str, list[float]] = {name: [] for name in pages}
        load: dict[str, list[float]] = {name: [] for name in pages}
        # One browser per Generate click, logged in beforehand, so the burst times only clicks.
        clickers = [login(base, data["doctor"], data["password"]) for _ in range(args.generations)]
        burst = Burst(base, clickers, watcher, data["patient_ids"][: args.generations], args)
        for _ in range(args.rounds):
            # At rest right before each burst, so both see the same machine (other processes
            # on a shared machine come and go).
            for name, values in measure(sessions, pages, None, args.samples).items():
                rest[name].extend(values)
            for name, values in burst.run(lambda stop: measure(sessions, pages, stop, 3)).items():
                load[name].extend(values)

    report = {
        "database": "postgresql" if args.postgres else "sqlite",
        "generations_at_once": args.generations,
        "rounds": args.rounds,
        "workers": args.workers,
        "web_workers": args.web_workers,
        "seconds_per_generation": args.seconds,
        "generate_post": summary(burst.post_times),
        "generation_wall_time": summary(burst.generation_times),
        "pages": {},
    }
    for name in pages:
        at_rest, loaded = summary(rest[name]), summary(load[name])
        report["pages"][name] = {
            "rest": at_rest,
            "load": loaded,
            "median_ratio": round(loaded["median_ms"] / at_rest["median_ms"], 2),
            "p95_ratio": round(loaded["p95_ms"] / at_rest["p95_ms"], 2),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="bursts of generations")
    parser.add_argument("--seconds", type=float, default=10.0, help="per proposal (stand-in)")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--web-workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument(
        "--samples", type=int, default=30, help="rounds of page loads at rest, per burst"
    )
    parser.add_argument("--postgres", help="base postgres:// URL (a throwaway DB is created)")
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report, indent=2))
    print()
    print(f"{'page':26} {'rest med':>9} {'load med':>9} {'ratio':>6} {'rest p95':>9} "
          f"{'load p95':>9} {'ratio':>6}")  # fmt: skip
    for name, row in report["pages"].items():
        print(
            f"{name:26} {row['rest']['median_ms']:>9} {row['load']['median_ms']:>9} "
            f"{row['median_ratio']:>6} {row['rest']['p95_ms']:>9} {row['load']['p95_ms']:>9} "
            f"{row['p95_ratio']:>6}"
        )
    print(f"Generate POST: {report['generate_post']} (returns at once, no model call)")
    ok = all(r["median_ratio"] <= 1.5 and r["p95_ratio"] <= 1.5 for r in report["pages"].values())
    print("target (<= 1.5): " + ("met" if ok else "MISSED"))


if __name__ == "__main__":
    main()
