#!/usr/bin/env bash
# Set up, then serve the site with live reload at http://127.0.0.1:8000 (Chinese at /zh/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs serve "$@"
