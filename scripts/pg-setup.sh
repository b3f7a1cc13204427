#!/bin/sh
# Create the PostgreSQL role and database the test suite uses. Idempotent; run as root
# (it becomes the postgres superuser via su) or as a user who can `su postgres`.
#   role redline / password redline, CREATEDB; database redline_test owned by redline.
# Starts the Debian cluster first if it is not running (PG_VERSION/PG_CLUSTER override).
set -eu

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
ROLE="${REDLINE_PG_ROLE:-redline}"
PASSWORD="${REDLINE_PG_PASSWORD:-redline}"
DB="${REDLINE_PG_DB:-redline_test}"

if command -v pg_lsclusters >/dev/null 2>&1; then
    if ! pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null | grep -q online; then
        pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
    fi
fi

as_postgres() {
    if [ "$(id -un)" = "postgres" ]; then
        sh -c "$1"
    else
        su postgres -c "$1"
    fi
}

as_postgres "psql -v ON_ERROR_STOP=1 -q -d postgres" <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    ELSE
        ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
SQL

if ! as_postgres "psql -tA -d postgres -c \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"" | grep -q 1; then
    as_postgres "createdb -O $ROLE $DB"
fi
echo "pg-setup: role $ROLE and database $DB ready on cluster $PG_VERSION/$PG_CLUSTER"
