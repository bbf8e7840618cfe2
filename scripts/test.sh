#!/usr/bin/env bash
# Set up, then run every test: content checker, notebooks, strict builds, browser, workflow lint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/python -m pytest "$@"
