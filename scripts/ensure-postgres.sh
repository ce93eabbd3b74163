#!/usr/bin/env bash
# The tests need the PostgreSQL at 127.0.0.1:5432 (user postgres, database test). This machine kind
# starts it before a session; if it has stopped, start the local cluster again.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi
if command -v pg_ctlcluster >/dev/null; then
  ver=$(ls /etc/postgresql | head -n1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
fi
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
echo "PostgreSQL is not reachable at 127.0.0.1:5432; set ACCORD_TEST_PG_URL or ACCORD_TEST_SKIP_PG=1" >&2
exit 1
