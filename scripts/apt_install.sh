#!/usr/bin/env bash
# Install Debian packages (as root, or through sudo); the ensure_*.sh scripts call it only when
# what a test needs is missing.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
else
  echo "$* missing and cannot be installed without root: apt-get install $*" >&2
  exit 1
fi
