#!/usr/bin/env bash
# Make sure the programs the tests drive are on this machine, installing Debian packages for the
# missing ones: Chromium for the dashboard's headless browser test (tests/usage/
# test_dashboard_browser.py; Playwright drives /usr/bin/chromium through `executable_path`, since
# its own browser download needs the network), zsh and fish for the completion scripts' syntax
# checks (tests/cli/test_completion.py). PostgreSQL has its own script (ensure-postgres.sh).
#
#   scripts/ensure-packages.sh /usr/bin/chromium:chromium zsh:zsh fish:fish
#
# Each argument is PROGRAM:PACKAGE (PROGRAM a path, or a name looked up on PATH). A no-op when
# every program is there; otherwise one quiet `apt-get install` of the missing packages. Needs
# root or sudo only when it has something to install.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-packages: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

missing=()
for pair in "$@"; do
    program=${pair%%:*}
    package=${pair#*:}
    command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "ensure-packages: $* present; nothing to do"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-packages: missing ${missing[*]} and no apt-get here; install them and re-run" >&2
    exit 1
fi

echo "ensure-packages: installing ${missing[*]} (apt-get install)"
# apt's chatter goes to a log that is shown only if the install fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
       as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-packages: apt-get could not install ${missing[*]}" >&2
    exit 1
fi

for pair in "$@"; do
    program=${pair%%:*}
    command -v "$program" >/dev/null 2>&1 || { echo "ensure-packages: $program still missing after install" >&2; exit 1; }
done
echo "ensure-packages: installed ${missing[*]}"
