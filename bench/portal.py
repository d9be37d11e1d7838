#!/usr/bin/env python3
"""Portal benchmark: each page's server time with the catalog workload loaded.

Usage:  bench/portal.py [N]          (default N = 10000; see catalog.sh for the workload)

Generates the workload with ../shared/workloads/catalog-gen.py, starts `paved up` on a fresh
data directory, registers DIR/all.yaml, waits until every entity is queryable, signs in to the
portal, then requests each page REQUESTS times (after WARMUP requests) one at a time over a
kept-alive connection on 127.0.0.1, so the time is the server's. Prints p50, p99 and max per
page and one `RESULT {json}` line.

Environment: PAVED_BIN (default target/release/paved), CATALOG_GEN, REQUESTS (default 50),
WARMUP (default 5), INGEST_TIMEOUT (default 180 s).
Exit codes: 0 done, 1 the benchmark failed (a page not 200, a timeout), 2 a missing prerequisite.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    sys.stderr.write("[portal-bench] %s\n" % message)


def fail(message, code=1):
    log("ERROR: " + message)
    sys.exit(code)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response, data


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    binary = os.path.join(ROOT, os.environ.get("PAVED_BIN", "target/release/paved"))
    generator = os.environ.get(
        "CATALOG_GEN", os.path.join(ROOT, "..", "shared", "workloads", "catalog-gen.py"))
    requests = int(os.environ.get("REQUESTS", "50"))
    warmup = int(os.environ.get("WARMUP", "5"))
    ingest_timeout = float(os.environ.get("INGEST_TIMEOUT", "180"))
    for needed in (binary, generator):
        if not os.path.exists(needed):
            fail("missing %s" % needed, 2)

    tmp = tempfile.mkdtemp(prefix="paved-portal-bench-")
    workload = os.path.join(tmp, "workload")
    data = os.path.join(tmp, "data")
    log("generating the workload (N=%d)" % n)
    generated = subprocess.run([sys.executable, generator, str(n), workload],
                               capture_output=True, text=True, check=True)
    port = free_port()
    server_log = open(os.path.join(tmp, "server.log"), "w")
    server = subprocess.Popen([binary, "up", "--listen", "127.0.0.1:%d" % port,
                               "--data-dir", data], stdout=server_log, stderr=server_log)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        deadline = time.time() + 60
        while True:
            try:
                response, _ = request(conn, "GET", "/healthz")
                if response.status == 200:
                    break
            except OSError:
                conn.close()
            if time.time() > deadline:
                fail("the server did not start")
            time.sleep(0.2)
        token = open(os.path.join(data, "admin-token")).read().strip()
        target = os.path.join(workload, "all.yaml")
        response, body = request(
            conn, "POST", "/api/catalog/locations",
            json.dumps({"type": "file", "target": target}),
            {"authorization": "Bearer " + token, "content-type": "application/json"})
        if response.status != 201:
            fail("registering the workload: %d %s" % (response.status, body[:300]))
        expected = None
        try:
            expected = json.loads(generated.stdout).get("total_generated")
        except (ValueError, AttributeError):
            pass
        deadline = time.time() + ingest_timeout
        while True:
            _, body = request(conn, "GET", "/api/catalog/entities/by-query?limit=1")
            total = json.loads(body)["totalItems"]
            if expected is None or total >= expected:
                break
            if time.time() > deadline:
                fail("only %d of %d entities after %ds" % (total, expected, ingest_timeout))
            time.sleep(0.5)
        log("%d entities queryable" % total)

        origin = "http://127.0.0.1:%d" % port
        response, _ = request(
            conn, "POST", "/sign-in", urllib.parse.urlencode({"token": token}),
            {"content-type": "application/x-www-form-urlencoded", "origin": origin})
        cookie = (response.getheader("set-cookie") or "").split(";")[0]
        if response.status != 303 or not cookie:
            fail("signing in: %d" % response.status)

        pages = [
            "/", "/catalog", "/catalog?q=component-42",
            "/catalog?kind=component&owner=group%3Adefault%2Fteam-7",
            "/catalog?sort=owner&dir=desc&page=40",
            "/catalog/component/default/component-42", "/catalog/group/default/team-7",
            "/catalog/system/default/system-3", "/create", "/create/web-service",
            "/templates", "/templates/web-service", "/jobs", "/engine", "/audit",
        ]
        rows = []
        for page in pages:
            times = []
            for index in range(warmup + requests):
                start = time.perf_counter()
                response, body = request(conn, "GET", page, headers={"cookie": cookie})
                elapsed = (time.perf_counter() - start) * 1000
                if response.status != 200:
                    fail("%s answered %d: %s" % (page, response.status, body[:300]))
                if index >= warmup:
                    times.append(elapsed)
            times.sort()
            rows.append({
                "page": page,
                "p50_ms": round(times[len(times) // 2], 2),
                "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
                "max_ms": round(times[-1], 2),
                "bytes": len(body),
            })
        print("%-58s %9s %9s %9s %9s" % ("page", "p50 ms", "p99 ms", "max ms", "bytes"))
        for row in rows:
            print("%-58s %9.2f %9.2f %9.2f %9d" % (
                row["page"], row["p50_ms"], row["p99_ms"], row["max_ms"], row["bytes"]))
        print("RESULT " + json.dumps({"n": n, "entities": total, "requests": requests,
                                      "binary": os.path.relpath(binary, ROOT), "pages": rows}))
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
