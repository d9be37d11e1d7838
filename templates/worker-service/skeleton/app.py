"""{{ service.name }}: a worker consuming its SQS queue, Python standard library only (boto3, in
the container image, only to poll the queue).

`handle(message)` processes one message: the work goes there. `main()` long-polls the queue
named by `QUEUE_URL` (the worker-service template sets it), hands each message to `handle` and
deletes it once handled. A message whose handling raises stays in the queue: SQS delivers it
again after its visibility timeout, and after `max_receive_count` receives moves it to the
dead-letter queue. SIGTERM, which ECS sends before it stops a task, ends the loop after the
current batch.
"""
import json
import logging
import os
import signal
import sys
import threading

SERVICE_NAME = {{ service.name | to_json }}
# Messages per receive (SQS allows 1 to 10), and how long a receive waits for one (at most 20).
BATCH_SIZE = 10
WAIT_SECONDS = 20
# Pause after a failed receive (network, throttling, permissions) before trying again.
RETRY_SECONDS = 5

log = logging.getLogger(SERVICE_NAME)


def handle(message):
    """Processes one SQS message (a dict with `MessageId`, `ReceiptHandle` and `Body`) and
    returns what it did. Raising leaves the message in the queue, to be retried.

    This example expects a JSON object and returns its field names.
    """
    body = json.loads(message["Body"])
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    result = {"message_id": message.get("MessageId"), "fields": sorted(body)}
    log.info("handled %s", json.dumps(result))
    return result


def poll_once(sqs, queue_url, wait_seconds=WAIT_SECONDS):
    """Receives one batch from `queue_url` with `sqs` (a boto3 SQS client, or anything with its
    `receive_message` and `delete_message`), handles each message and deletes the handled ones.
    Returns (handled, failed)."""
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=BATCH_SIZE,
        WaitTimeSeconds=wait_seconds,
    )
    handled = failed = 0
    for message in response.get("Messages", []):
        try:
            handle(message)
        except Exception:  # any failure leaves the message for a retry
            failed += 1
            log.exception("message %s failed; SQS will deliver it again", message.get("MessageId"))
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1
    return handled, failed


def run(sqs, queue_url, stop, wait_seconds=WAIT_SECONDS):
    """Polls until `stop` (a threading.Event) is set; a failed receive is retried after a pause."""
    while not stop.is_set():
        try:
            poll_once(sqs, queue_url, wait_seconds)
        except Exception:  # keep consuming; botocore has retried already
            log.exception("receiving from %s failed; retrying in %s s", queue_url, RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)


def main():
    """Polls `QUEUE_URL` until SIGTERM; returns the exit status (1 without a queue)."""
    queue_url = os.environ.get("QUEUE_URL", "")
    if not queue_url:
        log.error("QUEUE_URL is not set: no queue to poll")
        return 1
    import boto3  # only here: the tests run without it

    sqs = boto3.client("sqs")
    stop = threading.Event()
    # Event.set() takes a lock the interrupted main thread may hold: set it from another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop.set).start())
    log.info("polling %s", queue_url)
    run(sqs, queue_url, stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
