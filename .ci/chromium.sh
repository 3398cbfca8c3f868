#!/usr/bin/env bash
# Install Debian's Chromium (/usr/bin/chromium) for the web-console browser test, once.
# The test launches it by path through Python playwright's driver; `playwright install` is never used
# (a test tool's own browser download does not work on these machines).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get install -y --no-install-recommends chromium || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends chromium; }
