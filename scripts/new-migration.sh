#!/usr/bin/env bash
# Autogenerate a migration for one service against a scratch PostgreSQL database, then review it by hand.
# usage: scripts/new-migration.sh SERVICE REVISION "message"     e.g. scripts/new-migration.sh referral 0002 "interventions"
set -euo pipefail
s=$1; rev=$2; msg=$3
root=$(cd "$(dirname "$0")/.." && pwd)
db="gen_${s}_$$"
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
trap 'psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" postgres' EXIT
cd "$root/services/$s-svc"
export "EOC_${s^^}_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$db"
"$root/.venv/bin/alembic" -c alembic.ini upgrade head
"$root/.venv/bin/alembic" -c alembic.ini revision --autogenerate --rev-id "$rev" -m "$msg"
