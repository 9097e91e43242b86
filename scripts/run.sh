#!/usr/bin/env bash
# Starts InHealth for development on its zero-setup default: SQLite, demo data, the background
# worker beside the web server. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

$PY manage.py migrate --noinput
$PY manage.py seed_demo

# Generation runs in the background worker, never inside a web request.
# A generation left "running" by a worker that died (Ctrl-C mid-generation) is failed with its
# reason so the doctor can retry; then the worker takes every queue ('*': generation included).
$PY manage.py recover_stale_generations
$PY manage.py db_worker --queue-name '*' --no-reload &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM

echo
echo "InHealth is starting on http://$HOST:$PORT/ (log in with one of the demo logins above)."
echo "AI proposals need Ollama at ${OLLAMA_API_URL:-http://localhost:11434} with 'ollama pull llama3.2'"
echo "(check it with: .venv/bin/python manage.py check_ollama)."
$PY manage.py runserver "$HOST:$PORT"
