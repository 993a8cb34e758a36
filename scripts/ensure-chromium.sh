#!/usr/bin/env bash
# Make sure this machine can run the dashboard's headless browser test (tests/usage/
# test_dashboard_browser.py): Debian's `chromium` at /usr/bin/chromium, which Playwright drives
# through `executable_path` (Playwright's own browser download needs the network, and CI has none
# to spare).
#
#   scripts/ensure-chromium.sh          # from the Makefile's check target, before pytest
#
# A no-op when /usr/bin/chromium is there. Otherwise, on Debian/Ubuntu, installs the `chromium`
# package quietly. Needs root or sudo only when it has something to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-chromium: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

if [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: $CHROMIUM present; nothing to do"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no $CHROMIUM and no apt-get here; install Chromium at $CHROMIUM and re-run" >&2
    exit 1
fi

echo "ensure-chromium: installing Chromium (apt-get install chromium)"
# apt's chatter goes to a log that is shown only if the install fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
       as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-chromium: apt-get could not install chromium" >&2
    exit 1
fi

[ -x "$CHROMIUM" ] || { echo "ensure-chromium: $CHROMIUM still missing after install" >&2; exit 1; }
echo "ensure-chromium: $CHROMIUM installed"
