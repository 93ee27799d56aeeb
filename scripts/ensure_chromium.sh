#!/usr/bin/env bash
# Install Debian's Chromium when it is missing: the browser tests drive it headless through
# Playwright (Playwright's own browser download is never used).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
"$(dirname "$0")/apt_install.sh" chromium
command -v chromium >/dev/null
