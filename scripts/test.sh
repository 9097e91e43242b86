#!/usr/bin/env bash
# Runs the whole test suite. Sets up what the tests need where it can:
# - a real Ollama server (../shared/ollama-cpu, tiny model registered as llama3.2) for tests
#   marked `ollama`, unless OLLAMA_TEST_URL is already set;
# - Debian's chromium for the browser tests (installed with apt-get when running as root).
# Tests whose part is missing skip with the reason; with CI=true they fail instead.
# Extra arguments go to pytest, e.g. `make test ARGS="-k chart"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

OLLAMA_CPU=${OLLAMA_CPU:-$(cd .. && pwd)/shared/ollama-cpu}
OLLAMA_PORT=${OLLAMA_TEST_PORT:-11435}
if [[ -z "${OLLAMA_TEST_URL:-}" && -x "$OLLAMA_CPU/start" ]]; then
  if OLLAMA_TEST_URL=$("$OLLAMA_CPU/start" "$OLLAMA_PORT" llama3.2 | tail -n 1); then
    export OLLAMA_TEST_URL
    echo "test.sh: Ollama test server at $OLLAMA_TEST_URL"
  else
    echo "test.sh: could not start the Ollama test server; tests marked 'ollama' will skip" >&2
  fi
fi

if ! command -v chromium >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "test.sh: installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || echo "test.sh: chromium could not be installed; browser tests will skip" >&2
fi
export CHROMIUM_PATH=${CHROMIUM_PATH:-$(command -v chromium || true)}

mkdir -p test-artifacts
exec $PY -m pytest "$@"
