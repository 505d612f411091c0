#!/usr/bin/env bash
# PostgreSQL init (docker-entrypoint-initdb.d): one database and one login role per service.
# A service's role owns its database and nothing else, so no service can read another's tables.
# Passwords come from EOC_<SERVICE>_DB_PASSWORD (docker-compose.yml sets development defaults).
set -euo pipefail

for service in referral eligibility outcomes finance; do
  var="EOC_${service^^}_DB_PASSWORD"
  password="${!var:?set $var}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="$service" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \gexec
SQL
done
