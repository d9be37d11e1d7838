#!/usr/bin/env python3
"""Runs the rendered worker-service skeleton's `main()` against an SQS queue (moto, in process,
with botocore checking every request against the SQS model), the way ECS runs it.

Usage: worker_check.py SKELETON-DIR

The queue has a dead-letter queue (maxReceiveCount 2) and a visibility timeout of 0. It holds
two good messages and one that `handle` refuses. `main()` runs with `QUEUE_URL` set until the
good ones are deleted and the bad one has moved to the dead-letter queue; then SIGTERM (and one
more message, to end the long poll) must make it return 0 with that last message handled too.
Exit 0 = as expected, 1 = problems (printed one per line)."""
import json
import os
import signal
import sys
import threading

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
})
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(name, None)

import boto3  # noqa: E402
import moto  # noqa: E402

DEADLINE_SECONDS = 60


def counts(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"])


def main(skeleton):
    sys.path.insert(0, skeleton)
    problems = []
    with moto.mock_aws():
        import app

        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="example-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(QueueName="example", Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        })["QueueUrl"]
        for body in ['{"order": 1}', "not json", '{"order": 2}']:
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        os.environ["QUEUE_URL"] = queue

        outcome = {}
        drained = threading.Event()
        returned = threading.Event()
        original_poll = app.poll_once

        # The worker's own loop says when to look: after each poll, not on a timer.
        # Once drained, the worker is stopped and its polls return at once, so it never waits
        # in a long poll for the stop to be seen.
        def watched_poll(client, url, *_args, **_kwargs):
            if drained.is_set():
                return 0
            # Short polls: moto moves a message to the dead-letter queue during a receive that
            # then returns nothing, and a long poll would sit out its 20 s on the empty queue.
            handled = original_poll(client, url, wait_seconds=0)
            if counts(sqs, queue) == 0 and counts(sqs, dlq) == 1:
                drained.set()
                stop_worker()
            return handled

        app.poll_once = watched_poll

        def stop_worker():
            os.kill(os.getpid(), signal.SIGTERM)

        def watchdog():
            if not drained.wait(DEADLINE_SECONDS):
                outcome["timeout"] = (counts(sqs, queue), counts(sqs, dlq))
                drained.set()
                stop_worker()
                # The worker may be in a long poll (20 s): one more message ends it.
                sqs.send_message(QueueUrl=queue, MessageBody='{"order": 3}')
            if not returned.wait(DEADLINE_SECONDS):
                print("main() did not return after SIGTERM", flush=True)
                os._exit(1)

        threading.Thread(target=watchdog, daemon=True).start()
        status = app.main()
        returned.set()
        if "timeout" in outcome:
            problems.append("the worker did not drain the queue in time: (queue, dead-letter queue) "
                            f"held {outcome['timeout']} messages, expected (0, 1)")
        if status != 0:
            problems.append(f"main() returned {status} after SIGTERM, expected 0")
        left = counts(sqs, queue)
        if left != 0:
            problems.append(f"{left} messages left in the queue after SIGTERM, expected none")
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        if [m["Body"] for m in dead] != ["not json"]:
            problems.append(f"the dead-letter queue holds {[m['Body'] for m in dead]}, expected the refused message")
    print("\n".join(problems) or "OK", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
