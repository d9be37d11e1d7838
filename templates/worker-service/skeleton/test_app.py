"""Checks `handle` and the polling loop against a fake SQS client: no AWS, no boto3."""
import json
import os
import threading
import unittest
from unittest import mock

import app

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/example"


def message(number, body):
    return {"MessageId": f"m{number}", "ReceiptHandle": f"r{number}", "Body": body}


class FakeSQS:
    """Answers each receive with the next batch (an exception is raised instead), then with
    nothing, calling `when_empty`; records the requests and the deletes."""

    def __init__(self, *batches, when_empty=lambda: None):
        self.batches = list(batches)
        self.when_empty = when_empty
        self.receives = []
        self.deleted = []

    def receive_message(self, **request):
        self.receives.append(request)
        if not self.batches:
            self.when_empty()
            return {}
        batch = self.batches.pop(0)
        if isinstance(batch, Exception):
            raise batch
        return {"Messages": batch}

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append((QueueUrl, ReceiptHandle))


class HandleTest(unittest.TestCase):
    def test_a_json_object_is_handled(self):
        result = app.handle(message(1, json.dumps({"order": 42, "amount": "9.99"})))
        self.assertEqual(result, {"message_id": "m1", "fields": ["amount", "order"]})

    def test_a_body_that_is_not_a_json_object_is_refused(self):
        for body in ["not json", "[1, 2]"]:
            with self.subTest(body=body), self.assertRaises(ValueError):
                app.handle(message(1, body))


class PollTest(unittest.TestCase):
    def test_handled_messages_are_deleted_and_failed_ones_left(self):
        sqs = FakeSQS([message(1, "{}"), message(2, "oops"), message(3, '{"a": 1}')])
        with self.assertLogs(app.log, "ERROR"):
            self.assertEqual(app.poll_once(sqs, QUEUE_URL), (2, 1))
        self.assertEqual(sqs.deleted, [(QUEUE_URL, "r1"), (QUEUE_URL, "r3")])
        request = sqs.receives[0]
        self.assertEqual(request["QueueUrl"], QUEUE_URL)
        self.assertTrue(1 <= request["MaxNumberOfMessages"] <= 10)
        self.assertTrue(0 <= request["WaitTimeSeconds"] <= 20)

    def test_run_polls_until_stopped_and_outlives_a_failed_receive(self):
        stop = threading.Event()
        sqs = FakeSQS(
            [message(1, "{}")], ConnectionError("network down"), [message(2, "{}")],
            when_empty=stop.set,
        )
        with mock.patch.object(app, "RETRY_SECONDS", 0), self.assertLogs(app.log, "ERROR"):
            app.run(sqs, QUEUE_URL, stop, wait_seconds=0)
        self.assertEqual(sqs.deleted, [(QUEUE_URL, "r1"), (QUEUE_URL, "r2")])
        self.assertEqual(len(sqs.receives), 4)

    def test_main_needs_queue_url(self):
        with mock.patch.dict(os.environ, {"QUEUE_URL": ""}), self.assertLogs(app.log, "ERROR"):
            self.assertEqual(app.main(), 1)


if __name__ == "__main__":
    unittest.main()
