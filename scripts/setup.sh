#!/usr/bin/env bash
# Install everything the site and its tests need, on a fresh clone. Safe to run again.
#   scripts/setup.sh            Python packages (.venv) and the browser assets (node_modules)
#   scripts/setup.sh --browser  also Chromium and CJK fonts for the browser tests (Debian, as root)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--browser" ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: the browser tests need Chromium: install Debian's chromium and fonts-noto-cjk," >&2
    echo "       or set CHROMIUM to a Chromium or Chrome binary." >&2
    exit 1
  fi
  apt-get update -q
  apt-get install -y -q chromium fonts-noto-cjk
fi

for tool in python3 node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required (Python 3.11, Node.js 20)" >&2; exit 1; }
done

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when requirements.txt changed since the last successful install.
stamp=.venv/.requirements.sha256
if ! sha256sum --check --status "$stamp" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > "$stamp"
fi

stamp=node_modules/.package-lock.sha256
if ! sha256sum --check --status "$stamp" 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json > "$stamp"
fi
