#!/bin/bash
# Usage: bench/bounded_reads_wide.sh target/debug/paved   (prints the status, seconds and peak RSS)
# Time for `paved up` (defaults) to refuse a `/**/*` location.
BIN=$1; D=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
$BIN up --listen 127.0.0.1:$PORT --data-dir $D/data 2> $D/log &
PID=$!
until grep -q "Paved is listening" $D/log 2>/dev/null; do sleep 0.1; done
curl -s -w '\nstatus %{http_code} in %{time_total} s\n' -X POST http://127.0.0.1:$PORT/api/catalog/locations -H "Authorization: Bearer $(cat $D/data/admin-token)" -H 'Content-Type: application/json' -d '{"type":"file","target":"/**/*"}' | tail -1
grep VmHWM /proc/$PID/status
kill -TERM $PID; wait $PID; rm -rf $D
