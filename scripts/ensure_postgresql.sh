#!/usr/bin/env bash
# Install Debian's PostgreSQL server when it is missing: the scale-out tests start a throwaway
# server from its binaries (initdb and pg_ctl in a temporary folder, on 127.0.0.1). Nothing is
# started here, and Debian's own cluster is not used.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Debian's postgresql (the scale-out tests start a throwaway server from it)"
"$(dirname "$0")/apt_install.sh" postgresql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
