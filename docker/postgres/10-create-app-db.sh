#!/bin/sh
# Runs once, when the data volume is empty: the application database next to Dagster's instance database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE \"$APP_DB_NAME\" OWNER \"$POSTGRES_USER\""
