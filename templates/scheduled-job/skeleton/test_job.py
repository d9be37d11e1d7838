"""Checks `run()`, and that the job's command runs once and exits with the right status."""
import os
import subprocess
import sys
import unittest
from datetime import datetime, timezone
from unittest import mock

import job

HERE = os.path.dirname(os.path.abspath(__file__))


class JobTest(unittest.TestCase):
    def test_run_reports_the_service_and_the_time(self):
        summary = job.run(datetime(2030, 1, 1, 3, 15, tzinfo=timezone.utc))
        self.assertEqual(summary, {"service": job.SERVICE_NAME, "ran_at": "2030-01-01T03:15:00+00:00"})

    def test_main_succeeds_when_run_returns(self):
        with self.assertLogs(job.log, "INFO") as logs:
            self.assertEqual(job.main(), 0)
        self.assertIn("done in", logs.output[-1])

    def test_main_fails_when_run_raises(self):
        with mock.patch.object(job, "run", side_effect=RuntimeError("boom")), \
                self.assertLogs(job.log, "ERROR") as logs:
            self.assertEqual(job.main(), 1)
        self.assertIn("RuntimeError: boom", "\n".join(logs.output))

    def test_the_command_runs_once_and_exits_0(self):
        # What the container's CMD runs.
        done = subprocess.run(
            [sys.executable, "job.py"], cwd=HERE, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(job.SERVICE_NAME, done.stderr)


if __name__ == "__main__":
    unittest.main()
