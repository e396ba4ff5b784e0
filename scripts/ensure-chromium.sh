#!/usr/bin/env bash
# The browser test drives Debian's chromium with playwright-core (never a downloaded browser).
# `npm test` runs this first: it installs the package when it is missing and we may (root + apt-get).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the integration-page browser test..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser test needs /usr/bin/chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu) and retry." >&2
exit 1
