#!/usr/bin/env bash
# Software-catalog benchmark for Paved.
#
# Usage:  bench/catalog.sh [N ...]        (default: 10000 20000)
#         bench/catalog.sh --selftest     (tests the helper code only; no server)
#
# For each N: generate the workload (../shared/workloads/catalog-gen.py), start
# `paved up` on a fresh data dir, register DIR/all.yaml, measure the time from
# process start until all entities can be queried, measure by-name and
# by-query latency with wrk, peak RSS (VmHWM), and graceful SIGTERM shutdown.
# Prints a table, then one `RESULT {json}` line per N.
#
# Environment:
#   PAVED_BIN     server binary, relative to the repo root (default target/release/paved)
#   CATALOG_GEN   workload generator (default $ROOT/../shared/workloads/catalog-gen.py)
#   INGEST_TIMEOUT  seconds to wait for everything to be queryable (default 120)
#   WRK_THREADS / WRK_CONNS / WRK_DURATION  wrk settings (default 2 / 16 / 10s)
#   KEEP_TMP=1    keep the temp dirs (workload, data dir, logs) for inspection
#
# Exit codes: 0 ok (targets missed are reported, not fatal), 1 benchmark error,
# 2 missing prerequisite (binary, wrk, generator, python3, curl).
set -euo pipefail

log() { printf '[catalog-bench] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- helpers (python3, stdlib only)
read -r -d '' PYHELPER <<'PY' || true
import json, os, socket, sys, threading, time, urllib.error, urllib.parse, urllib.request

def err(msg):
    sys.stderr.write("[catalog-bench] ERROR: %s\n" % msg)
    sys.exit(1)

def http_json(url, timeout=10):
    req = urllib.request.Request(url, headers={"accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        status = r.status
        body = r.read()
    return status, json.loads(body)

def entity_ref(e):
    md = e.get("metadata") or {}
    return ("%s:%s/%s" % (e.get("kind", "?"), md.get("namespace") or "default",
                          md.get("name", "?"))).lower()

def page_all(base, expected, limit=5000):
    """Fetch every entity page by page; return (count, distinct_refs, pages)."""
    path = base + "/api/catalog/entities/by-query?"
    url = path + urllib.parse.urlencode({"limit": limit})
    count, refs, pages = 0, set(), 0
    max_pages = expected // limit + 5
    while True:
        _, d = http_json(url, timeout=60)
        items = d["items"]
        count += len(items)
        refs.update(entity_ref(e) for e in items)
        pages += 1
        cursor = (d.get("pageInfo") or {}).get("nextCursor")
        if not cursor:
            return count, len(refs), pages
        if pages >= max_pages or not items:
            raise RuntimeError("paging does not terminate: %d pages, %d items so far, "
                               "last page had %d items and nextCursor=%r"
                               % (pages, count, len(items), cursor))
        url = path + urllib.parse.urlencode({"cursor": cursor, "limit": limit})

def ingest(base, expected, start_ns, timeout_s, interval=0.01):
    """Poll totalItems until == expected, then page through everything.
    Returns seconds since start_ns at which the full paged count matched."""
    deadline = time.monotonic() + timeout_s
    last_total, last_err, last_mismatch = None, None, None
    while True:
        try:
            _, d = http_json(base + "/api/catalog/entities/by-query?limit=1")
            last_total = d["totalItems"]
            if last_total == expected:
                count, distinct, pages = page_all(base, expected)
                if count == expected and distinct == expected:
                    elapsed = (time.time_ns() - start_ns) / 1e9
                    sys.stderr.write("[catalog-bench] all %d entities queryable "
                                     "(%d pages of <=5000)\n" % (count, pages))
                    return elapsed
                last_mismatch = ("totalItems=%d but paging returned %d items (%d distinct)"
                                 % (last_total, count, distinct))
            elif last_total > expected:
                err("totalItems=%d exceeds expected %d (duplicates or wrong workload?)"
                    % (last_total, expected))
        except urllib.error.HTTPError as e:
            last_err = "HTTP %d: %s" % (e.code, e.read()[:300].decode("utf-8", "replace"))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            last_err = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() > deadline:
            err("not all %d entities queryable after %ss: last totalItems=%s; "
                "last mismatch=%s; last error=%s"
                % (expected, timeout_s, last_total, last_mismatch, last_err))
        time.sleep(interval)

def check_by_name(url, name):
    try:
        status, d = http_json(url)
    except Exception as e:
        err("by-name check %s failed: %s" % (url, e))
    got = (d.get("metadata") or {}).get("name")
    if status != 200 or got != name or str(d.get("kind", "")).lower() != "component":
        err("by-name check %s: status %s, kind=%r name=%r (want Component %s)"
            % (url, status, d.get("kind"), got, name))

def check_query(url, team7):
    try:
        status, d = http_json(url)
    except Exception as e:
        err("query check %s failed: %s" % (url, e))
    items, total = d.get("items"), d.get("totalItems")
    want_items = min(50, team7)
    if status != 200 or not isinstance(items, list) or len(items) != want_items or total != team7:
        err("query check %s: status %s, %s items (want %d), totalItems=%r (want %d)"
            % (url, status, len(items) if isinstance(items, list) else items,
               want_items, total, team7))
    for e in items:
        owner = str((e.get("spec") or {}).get("owner", ""))
        if str(e.get("kind", "")).lower() != "component" or not owner.endswith("team-7"):
            err("query check: unexpected item %s with spec.owner=%r" % (entity_ref(e), owner))

UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}

def to_ms(tok):
    for u in ("us", "ms", "s", "m", "h"):  # order matters: "ms"/"us" before "s"
        if tok.endswith(u):
            return float(tok[:-len(u)]) * UNITS_MS[u]
    raise ValueError("unknown latency unit in %r" % tok)

def parse_wrk(text):
    """Parse `wrk --latency` output -> dict (p50_ms, p99_ms, rps, requests, errors)."""
    out = {"non2xx": 0, "socket_errors": 0}
    in_dist = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Latency Distribution"):
            in_dist = True
            continue
        if in_dist:
            parts = line.split()
            if len(parts) == 2 and parts[0].endswith("%"):
                pct = float(parts[0][:-1])
                if pct == 50:
                    out["p50_ms"] = to_ms(parts[1])
                elif pct == 99:
                    out["p99_ms"] = to_ms(parts[1])
                continue
            in_dist = False
        if line.startswith("Requests/sec:"):
            out["rps"] = float(line.split()[1])
        elif " requests in " in line:
            out["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            out["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            # Socket errors: connect 0, read 0, write 0, timeout 12
            out["socket_errors"] = sum(int(p.strip().split()[-1])
                                       for p in line.split(":", 1)[1].split(","))
    missing = [k for k in ("p50_ms", "p99_ms", "rps", "requests") if k not in out]
    if missing:
        raise ValueError("wrk output lacks %s (was --latency given?)" % ", ".join(missing))
    return out

# Targets: N -> (all-queryable seconds <=, peak RSS MB <); p99 < 5 ms for both queries.
TARGETS = {10000: (1.5, 150), 20000: (3.0, 300)}
P99_TARGET_MS = 5.0

def judge(r):
    t = TARGETS.get(r["n"])
    if t is None:
        return None, []
    missed = []
    if r["all_queryable_s"] > t[0]:
        missed.append("all_queryable_s>%s" % t[0])
    if r["peak_rss_mb"] >= t[1]:
        missed.append("peak_rss_mb>=%s" % t[1])
    for q in ("by_name", "query"):
        if r[q + "_p99_ms"] >= P99_TARGET_MS:
            missed.append("%s_p99_ms>=%s" % (q, P99_TARGET_MS))
    if not r["shutdown_ok"]:
        missed.append("shutdown")
    return not missed, missed

def typed(v):
    if v in ("true", "false"):
        return v == "true"
    for f in (int, float):
        try:
            return f(v)
        except ValueError:
            pass
    return v

def cmd_result(args):
    r = {}
    for a in args:
        k, v = a.split("=", 1)
        if k.endswith("_wrk"):       # path to a wrk output file
            w = parse_wrk(open(v).read())
            q = k[:-4]
            for f in ("p50_ms", "p99_ms", "rps", "requests", "non2xx", "socket_errors"):
                r["%s_%s" % (q, f)] = round(w[f], 3) if isinstance(w[f], float) else w[f]
        else:
            r[k] = typed(v)
    r["targets_met"], r["targets_missed"] = judge(r)
    print(json.dumps(r, separators=(",", ":")))

def cmd_table(lines):
    rows = [json.loads(l) for l in lines]
    hdr = ["N", "entities", "queryable s", "by-name p50/p99 ms", "by-name req/s",
           "query p50/p99 ms", "query req/s", "peak RSS MB", "shutdown", "targets"]
    body = []
    for r in rows:
        tm = r.get("targets_met")
        body.append([
            str(r["n"]), str(r["entities"]), "%.3f" % r["all_queryable_s"],
            "%.2f / %.2f" % (r["by_name_p50_ms"], r["by_name_p99_ms"]),
            "%.0f" % r["by_name_rps"],
            "%.2f / %.2f" % (r["query_p50_ms"], r["query_p99_ms"]),
            "%.0f" % r["query_rps"], "%.1f" % r["peak_rss_mb"],
            "ok" if r["shutdown_ok"] else "FAILED",
            "-" if tm is None else ("met" if tm else "MISSED: " + ", ".join(r["targets_missed"]))])
    w = [max(len(x) for x in col) for col in zip(hdr, *body)]
    fmt = lambda cells: "  ".join(c.rjust(w[i]) if i < len(cells) - 1 else c
                                  for i, c in enumerate(cells))
    print(fmt(hdr))
    print("  ".join("-" * x for x in w))
    for b in body:
        print(fmt(b))

# ---------------------------------------------------------------- self-test
WRK_SAMPLE = """Running 10s test @ http://127.0.0.1:4000/api/catalog/entities/by-name/component/default/component-42
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.33us  301.12us   9.87ms   91.02%
    Req/Sec    19.70k     1.21k   22.43k    71.50%
  Latency Distribution
     50%  350.00us
     75%  480.12us
     90%  690.55us
     99%    1.73ms
  392112 requests in 10.00s, 301.44MB read
Requests/sec:  39208.77
Transfer/sec:     30.14MB
"""
WRK_SAMPLE_SLOW = """Running 10s test @ http://127.0.0.1:4000/x
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   300.00ms   2.00s    70.00%
    Req/Sec     6.00      2.00     10.00     80.00%
  Latency Distribution
     50%    1.10s
     75%    1.40s
     90%    1.80s
     99%    2.00s
  120 requests in 10.01s, 1.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 12
  Non-2xx or 3xx responses: 3
Requests/sec:     11.99
Transfer/sec:    102.30KB
"""

def selftest():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    w = parse_wrk(WRK_SAMPLE)
    assert abs(w["p50_ms"] - 0.35) < 1e-9 and abs(w["p99_ms"] - 1.73) < 1e-9, w
    assert w["rps"] == 39208.77 and w["requests"] == 392112, w
    assert w["non2xx"] == 0 and w["socket_errors"] == 0, w
    w = parse_wrk(WRK_SAMPLE_SLOW)
    assert w["p50_ms"] == 1100.0 and w["p99_ms"] == 2000.0 and w["rps"] == 11.99, w
    assert w["non2xx"] == 3 and w["socket_errors"] == 13, w
    assert to_ms("2.5m") == 150000.0 and to_ms("900us") == 0.9
    try:
        parse_wrk("Requests/sec: 1\n")
        raise AssertionError("parse_wrk accepted output without a latency block")
    except ValueError:
        pass

    # Fake catalog: entities appear gradually; pages via opaque cursors.
    expected = 12345
    t0 = time.monotonic()
    def visible():
        return min(expected, int((time.monotonic() - t0) / 0.3 * expected))
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path != "/api/catalog/entities/by-query":
                self.send_response(404); self.end_headers(); return
            n = visible()
            if "cursor" in q:
                assert set(q) == {"cursor", "limit"}, q
                off = int(q["cursor"][len("c:"):])
            else:
                off = 0
            lim = int(q.get("limit", 20))
            items = [{"kind": "Component", "metadata": {"name": "c-%d" % i}}
                     for i in range(off, min(n, off + lim))]
            nxt = "c:%d" % (off + lim) if off + lim < n else None
            body = json.dumps({"items": items, "totalItems": n,
                               "pageInfo": {"nextCursor": nxt} if nxt else {}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    start_ns = time.time_ns()
    s = ingest(base, expected, start_ns, 10)
    assert 0.25 < s < 5, s
    # Wrong expectation must fail loudly (SystemExit from err()).
    import io, contextlib
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            ingest(base, expected + 1, start_ns, 0.2)
        raise AssertionError("ingest did not time out")
    except SystemExit as e:
        assert e.code == 1
    srv.shutdown()

    # Result line + table round trip.
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(WRK_SAMPLE)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cmd_result(["n=10000", "entities=15621", "all_queryable_s=1.2", "peak_rss_mb=99.5",
                    "shutdown_ok=true", "by_name_wrk=" + f.name, "query_wrk=" + f.name])
    os.unlink(f.name)
    r = json.loads(buf.getvalue())
    assert r["targets_met"] is True and r["query_p99_ms"] == 1.73, r
    with contextlib.redirect_stdout(io.StringIO()):
        cmd_table([buf.getvalue()])
    print("selftest: ok (wrk parser, ingest poller/pager, result/table)")

# ---------------------------------------------------------------- dispatch
def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
    elif cmd == "manifest":
        m = json.load(open(args[0]))
        print(m["total_generated"], m["team7_components"])
    elif cmd == "register-body":
        print(json.dumps({"type": "file", "target": args[0]}))
    elif cmd == "ingest":
        print("%.3f" % ingest(args[0], int(args[1]), int(args[2]), float(args[3])))
    elif cmd == "check-by-name":
        check_by_name(args[0], args[1])
    elif cmd == "check-query":
        check_query(args[0], int(args[1]))
    elif cmd == "wrk-check":
        try:
            w = parse_wrk(open(args[0]).read())
        except ValueError as e:
            err("%s: %s" % (args[0], e))
        if w["non2xx"]:
            err("wrk saw %d non-2xx responses out of %d (%s)" % (w["non2xx"], w["requests"], args[0]))
        if w["socket_errors"]:
            sys.stderr.write("[catalog-bench] WARNING: wrk reported %d socket errors\n"
                             % w["socket_errors"])
        print("p50 %.3f ms  p99 %.3f ms  %.0f req/s" % (w["p50_ms"], w["p99_ms"], w["rps"]))
    elif cmd == "result":
        cmd_result(args)
    elif cmd == "table":
        cmd_table(args)
    elif cmd == "selftest":
        selftest()
    else:
        err("unknown helper command %r" % cmd)

main()
PY

py() { python3 -c "$PYHELPER" "$@"; }

# ---------------------------------------------------------------- prerequisites
need() { command -v "$1" >/dev/null 2>&1 || { log "missing '$1'; install it: $2"; exit 2; }; }
need python3 "apt-get install -y python3"

if [[ "${1:-}" == "--selftest" ]]; then
    py selftest
    exit 0
fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
fi

NS=("$@")
[[ ${#NS[@]} -gt 0 ]] || NS=(10000 20000)
for n in "${NS[@]}"; do
    if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 44 || n % 2 != 0)); then
        log "N must be an even integer >= 44 (component-42 must exist), got '$n'"
        exit 1
    fi
done

need curl "apt-get install -y curl"
need wrk "apt-get install -y wrk"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))
cd "$ROOT"

BIN=${PAVED_BIN:-target/release/paved}
if [[ ! -x "$BIN" ]]; then
    log "server binary '$BIN' not found (relative to $ROOT). Build it with:"
    log "    cargo build --release -p paved"
    exit 2
fi
GEN=${CATALOG_GEN:-$ROOT/../shared/workloads/catalog-gen.py}
if [[ ! -f "$GEN" ]]; then
    log "workload generator '$GEN' not found (set CATALOG_GEN=/path/to/catalog-gen.py)"
    exit 2
fi

INGEST_TIMEOUT=${INGEST_TIMEOUT:-120}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-16}
WRK_DURATION=${WRK_DURATION:-10s}


# ---------------------------------------------------------------- cleanup
TMPDIRS=()
SERVER_PID=""
SERVER_LOG=""
CHILD_PID=""

stop_server_hard() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

on_exit() {
    local rc=$?
    if [[ -n "$CHILD_PID" ]]; then kill -TERM "$CHILD_PID" 2>/dev/null || true; fi
    stop_server_hard
    if ((rc != 0)) && [[ -n "$SERVER_LOG" && -s "$SERVER_LOG" ]]; then
        log "benchmark failed (exit $rc); last lines of the server log ($SERVER_LOG):"
        tail -n 40 "$SERVER_LOG" >&2 || true
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        ((${#TMPDIRS[@]} == 0)) || log "kept temp dirs: ${TMPDIRS[*]}"
    else
        for d in "${TMPDIRS[@]}"; do rm -rf -- "$d"; done
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a long command (wrk, ingest poller) in the background and wait for it, so a
# SIGINT/SIGTERM to this script is handled at once (bash defers traps while a
# foreground child runs). Stdout goes to $1; stderr stays on ours.
run_child() {
    local out=$1 rc=0
    shift
    "$@" >"$out" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

die() { log "ERROR: $*"; exit 1; }

now_ns() { date +%s%N; }

# Process state letter from /proc/PID/stat ("" if gone); a zombie (Z) has exited.
proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return; }
    stat=${stat##*) }
    echo "${stat%% *}"
}
server_alive() { local s; s=$(proc_state "$SERVER_PID"); [[ -n "$s" && "$s" != Z ]]; }

# ---------------------------------------------------------------- one run
RESULTS=()

run_one() {
    local n=$1 work data port base token expected team7 gen_out
    work=$(mktemp -d "${TMPDIR:-/tmp}/paved-bench-work.XXXXXX"); TMPDIRS+=("$work")
    data=$(mktemp -d "${TMPDIR:-/tmp}/paved-bench-data.XXXXXX"); TMPDIRS+=("$data")
    SERVER_LOG="$work/server.log"

    log "N=$n: generating workload in $work"
    gen_out=$(python3 "$GEN" "$n" "$work/catalog") || die "workload generator failed"
    log "  generator: $gen_out"
    read -r total team7 < <(py manifest "$work/catalog/manifest.json") \
        || die "cannot read $work/catalog/manifest.json"
    expected=$((total + 1))   # + the Location entity bench-root
    [[ -f "$work/catalog/all.yaml" ]] || die "generator did not write $work/catalog/all.yaml"

    port=$(py port)
    base="http://127.0.0.1:$port"
    log "  starting $BIN up --listen 127.0.0.1:$port --data-dir $data"
    local start_ns
    start_ns=$(now_ns)
    "$BIN" up --listen "127.0.0.1:$port" --data-dir "$data" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!

    # Health.
    local deadline code healthy_s
    deadline=$((start_ns + 30 * 1000000000))
    while :; do
        server_alive || die "server exited during startup"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/healthz" || true)
        [[ "$code" == 200 ]] && break
        (($(now_ns) < deadline)) || die "GET /healthz did not return 200 within 30 s (last: $code)"
        sleep 0.01
    done
    healthy_s=$(awk -v a="$start_ns" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    log "  healthy after ${healthy_s} s"

    # What a fresh Paved already has in its catalog (the built-in templates' Template entities).
    local builtin
    builtin=$(curl -sS --max-time 5 "$base/api/catalog/entities/by-query?limit=1" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["totalItems"])') \
        || die "cannot count the catalog's built-in entities"
    expected=$((expected + builtin))
    log "  $builtin built-in entities; expecting $expected in all"

    # Admin token (written on first start).
    deadline=$(($(now_ns) + 5 * 1000000000))
    until [[ -s "$data/admin-token" ]]; do
        (($(now_ns) < deadline)) || die "$data/admin-token not written within 5 s of /healthz"
        sleep 0.01
    done
    token=$(tr -d '[:space:]' <"$data/admin-token")

    # Register the root location.
    local resp
    resp=$(curl -sS -o "$work/register.out" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d "$(py register-body "$work/catalog/all.yaml")" \
        "$base/api/catalog/locations") || die "POST /api/catalog/locations: curl failed"
    [[ "$resp" == 2?? ]] || die "POST /api/catalog/locations returned $resp: $(head -c 500 "$work/register.out")"

    # All queryable.
    local queryable_s
    run_child "$work/ingest.out" py ingest "$base" "$expected" "$start_ns" "$INGEST_TIMEOUT" \
        || die "entities did not all become queryable"
    queryable_s=$(<"$work/ingest.out")
    log "  all $expected entities queryable ${queryable_s} s after process start"
    local rss_ingest_kb
    rss_ingest_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")

    # Latency.
    local url_name="$base/api/catalog/entities/by-name/component/default/component-42"
    local url_query="$base/api/catalog/entities/by-query?filter=kind=component,spec.owner=group:default/team-7&limit=50"
    py check-by-name "$url_name" component-42
    py check-query "$url_query" "$team7"
    local q url out
    for q in by_name query; do
        if [[ $q == by_name ]]; then url=$url_name; else url=$url_query; fi
        out="$work/wrk-$q.txt"
        log "  wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency ($q)"
        run_child "$out" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "$url" \
            || die "wrk failed ($q): $(cat "$out")"
        log "    $(py wrk-check "$out")"
        server_alive || die "server died during the wrk run ($q)"
    done

    # Peak RSS.
    local hwm_kb
    hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
    [[ -n "$hwm_kb" ]] || die "cannot read VmHWM from /proc/$SERVER_PID/status"

    # Graceful shutdown: SIGTERM, must exit 0 within 10 s.
    local t0 shutdown_ok=false shutdown_s rc=0
    t0=$(now_ns)
    kill -TERM "$SERVER_PID"
    while server_alive && (($(now_ns) - t0 < 10 * 1000000000)); do sleep 0.01; done
    if server_alive; then
        log "  server still running 10 s after SIGTERM; sending SIGKILL"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" || rc=$?
    shutdown_s=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    SERVER_PID=""
    if ((rc == 0)) && awk -v s="$shutdown_s" 'BEGIN { exit !(s <= 10) }'; then
        shutdown_ok=true
        log "  graceful shutdown: ok (${shutdown_s} s)"
    else
        log "  graceful shutdown: failed (exit status $rc after ${shutdown_s} s)"
    fi

    local line
    line=$(py result "n=$n" "entities=$expected" "team7_components=$team7" \
        "healthy_s=$healthy_s" "all_queryable_s=$queryable_s" \
        "by_name_wrk=$work/wrk-by_name.txt" "query_wrk=$work/wrk-query.txt" \
        "rss_after_ingest_mb=$(awk -v k="$rss_ingest_kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "peak_rss_mb=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "shutdown_ok=$shutdown_ok" "shutdown_s=$shutdown_s" "shutdown_exit=$rc" \
        "wrk=-t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION")
    RESULTS+=("$line")
    echo
    py table "$line"
    echo
    SERVER_LOG=""
}

for n in "${NS[@]}"; do
    run_one "$n"
done

if ((${#RESULTS[@]} > 1)); then
    echo "Summary"
    py table "${RESULTS[@]}"
    echo
fi
for line in "${RESULTS[@]}"; do
    echo "RESULT $line"
done
