#!/bin/bash
# Usage: bench/bounded_reads_sigterm.sh target/debug/paved   (prints the exit code and seconds)
# Measures how long `paved up` takes to exit after SIGTERM during a read of `/**/*`.
BIN=$1; D=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
PAVED_LOG=info,paved_catalog=debug $BIN up --listen 127.0.0.1:$PORT --data-dir $D/data --catalog-max-files-visited 1000000000 --catalog-max-bytes-read 1000000000000 --catalog-max-read-time 3600 2> $D/log &
PID=$!
until grep -q "Paved is listening" $D/log 2>/dev/null; do sleep 0.1; done
curl -s -o /dev/null -X POST http://127.0.0.1:$PORT/api/catalog/locations -H "Authorization: Bearer $(cat $D/data/admin-token)" -H 'Content-Type: application/json' -d '{"type":"file","target":"/**/*"}' &
until grep -q "reading location" $D/log; do sleep 0.05; done
sleep 2   # let the read run
T0=$(date +%s.%N); kill -TERM $PID; wait $PID; CODE=$?; T1=$(date +%s.%N)
echo "exit $CODE after $(echo "$T1 - $T0" | bc) s"
rm -rf $D
