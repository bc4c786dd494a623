#!/usr/bin/env bash
# The official Python `openai` client in .venv/ for the client e2e tests (idempotent: quick when it is there).
# pip uses the machine's configured index; --retries 0 --timeout 3 keep it from retrying unreachable indexes.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv/bin/python -c 'import openai' >/dev/null 2>&1; then exit 0; fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --retries 0 --timeout 3 openai
.venv/bin/python -c 'import openai; print("python openai", openai.__version__)'
