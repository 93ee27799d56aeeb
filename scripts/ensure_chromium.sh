#!/usr/bin/env bash
# Install Debian's Chromium when it is missing: the browser tests drive it headless through
# Playwright (Playwright's own browser download is never used).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing and cannot be installed without root: apt-get install chromium" >&2
  exit 1
fi
command -v chromium >/dev/null
