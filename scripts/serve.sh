#!/usr/bin/env bash
# Set up, then serve the site with live reload at http://127.0.0.1:8000 (Chinese at /zh/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
# Served at the root, not under the published site's path.
export SITE_URL="${SITE_URL:-http://127.0.0.1:8000/}"
exec .venv/bin/mkdocs serve "$@"
