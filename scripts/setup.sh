#!/usr/bin/env bash
# Install everything the site and its tests need, on a fresh clone. Safe to run again.
#   scripts/setup.sh            CJK fonts, Python packages (.venv) and the browser assets (node_modules)
#   scripts/setup.sh --browser  also Chromium for the browser tests (Debian packages need root)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: CJK fonts for the Chinese figure labels (every build draws them) and Chromium for
# the browser tests.
packages=()
{ dpkg -s fonts-noto-cjk || fc-list | grep -qi "Noto Sans CJK"; } >/dev/null 2>&1 || packages+=(fonts-noto-cjk)
if [ "${1:-}" = "--browser" ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  packages+=(chromium)
fi
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: install the Debian packages ${packages[*]} (as root), then run this again." >&2
    echo "       For the browser tests, CHROMIUM may name another Chromium or Chrome binary." >&2
    exit 1
  fi
  apt-get update -q
  apt-get install -y -q "${packages[@]}"
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
