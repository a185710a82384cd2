#!/usr/bin/env bash
# Make PostgreSQL and Redis answer on 127.0.0.1 for the production test pass: install them with
# apt-get when absent, start them when stopped, wait until they answer, create the database.
#   scripts/ensure-services.sh [DATABASE_URL] [REDIS_URL]
# Defaults: postgres://postgres@127.0.0.1:5432/roomchat_test and redis://127.0.0.1:6379/0.
set -euo pipefail

DATABASE_URL=${1:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/roomchat_test}}
REDIS_URL=${2:-${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}}
WAIT_SECONDS=${WAIT_SECONDS:-60}

# host, port, user and database name out of the URLs, with the usual defaults.
read -r PG_HOST PG_PORT PG_USER PG_DB < <(python3 -c '
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 5432, u.username or "postgres", u.path.lstrip("/") or "roomchat_test")
' "$DATABASE_URL")
read -r REDIS_HOST REDIS_PORT < <(python3 -c '
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 6379)
' "$REDIS_URL")

say() { echo "ensure-services: $*" >&2; }

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
installed_postgres=no
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    [[ " ${missing[*]} " == *" postgresql "* ]] && installed_postgres=yes
fi

postgres_answers() { pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; }
redis_answers() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

wait_for() {
    local what=$1 check=$2 waited=0
    until "$check"; do
        if ((waited >= WAIT_SECONDS * 5)); then
            say "$what does not answer after ${WAIT_SECONDS}s"
            return 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

if ! postgres_answers; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ "$installed_postgres" = yes ]; then
        # A fresh CI install: let the test user in over TCP without a password, like the dev machine.
        hba=/etc/postgresql/$version/main/pg_hba.conf
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
if ! redis_answers; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for PostgreSQL postgres_answers
wait_for Redis redis_answers

exists=$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")
if [ "$exists" != 1 ]; then
    say "creating database $PG_DB"
    createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
fi
say "PostgreSQL ($PG_HOST:$PG_PORT/$PG_DB) and Redis ($REDIS_HOST:$REDIS_PORT) are up"
