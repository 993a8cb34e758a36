#!/usr/bin/env bash
# Make sure this machine can run the PostgreSQL ledger tests and bench: PostgreSQL server binaries
# (initdb, pg_ctl) and, because PostgreSQL refuses to run as root, a `postgres` system user.
#
#   scripts/ensure-postgres.sh          # from the Makefile's test target, before pytest
#
# A no-op when both are present. Otherwise, on Debian/Ubuntu, installs the `postgresql` package
# (which also creates the user), without letting it create or start a system cluster: the tests
# start their own throwaway server in a temp dir (tests/pg.py). Needs root or sudo only when it
# has something to install.
set -euo pipefail

find_bins() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

need_user() { [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-postgres: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

if bindir=$(find_bins) && ! need_user; then
    echo "ensure-postgres: PostgreSQL binaries in $bindir; nothing to do"
    exit 0
fi

if ! find_bins >/dev/null; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-postgres: no PostgreSQL server binaries and no apt-get here; install PostgreSQL" \
             "(initdb and pg_ctl on PATH) and re-run" >&2
        exit 1
    fi
    # The tests bring their own server; a system cluster would only hold port 5432 and memory.
    # (createcluster.d is read by postgresql-common's own createcluster.conf, so no conffile clash.)
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" |
        as_root tee /etc/postgresql-common/createcluster.d/thrifty-no-main-cluster.conf >/dev/null
    echo "ensure-postgres: installing PostgreSQL (apt-get install postgresql)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql
fi

if need_user; then
    # The package normally creates it; a hand-built install may not have.
    echo "ensure-postgres: creating the 'postgres' system user (PostgreSQL will not run as root)"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi

bindir=$(find_bins) || { echo "ensure-postgres: PostgreSQL still not found after install" >&2; exit 1; }
echo "ensure-postgres: PostgreSQL binaries in $bindir"
