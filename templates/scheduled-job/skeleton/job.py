"""{{ service.name }}: a job EventBridge Scheduler starts on a schedule, Python standard library
only. The container runs `run()` once and exits: status 0 when it returns, 1 when it raises (the
log shows why).

The work goes in `run()`. ECS has no task timeout, so the job must end by itself.
"""
import json
import logging
import sys
import time
from datetime import datetime, timezone

SERVICE_NAME = {{ service.name | to_json }}

log = logging.getLogger(SERVICE_NAME)


def run(now=None):
    """Does the job's work once and returns a summary of it, which `main()` logs.

    This example only reports when it ran.
    """
    now = now or datetime.now(timezone.utc)
    return {"service": SERVICE_NAME, "ran_at": now.isoformat(timespec="seconds")}


def main():
    """Runs the job once; returns the exit status."""
    started = time.monotonic()
    try:
        summary = run()
    except Exception:  # any failure fails the task, with the traceback in the log
        log.exception("the job failed after %.1f s", time.monotonic() - started)
        return 1
    log.info("done in %.1f s: %s", time.monotonic() - started, json.dumps(summary))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
