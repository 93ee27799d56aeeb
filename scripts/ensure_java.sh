#!/usr/bin/env bash
# Install Debian's Java runtime when it is missing: the Spark tests start a local Spark session
# (pyspark), which runs in a JVM (Java 17 or newer).
set -euo pipefail
if command -v java >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Debian's openjdk-17-jre-headless (the Spark tests run a local Spark session)"
"$(dirname "$0")/apt_install.sh" openjdk-17-jre-headless
command -v java >/dev/null
