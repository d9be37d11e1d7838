"""{{ service.name }}: a small HTTP service, Python standard library only.

Serves `/` and the health check path (`HEALTH_CHECK_PATH`, default `{{ service_instance.inputs.health_check_path }}`)
on `PORT` (default {{ service_instance.inputs.port }}), and stops cleanly on SIGTERM, which ECS
sends before it stops a task.
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE_NAME = "{{ service.name }}"
HEALTH_CHECK_PATH = os.environ.get("HEALTH_CHECK_PATH", {{ service_instance.inputs.health_check_path | to_json }})


class Handler(BaseHTTPRequestHandler):
    server_version = "paved-skeleton/1"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        # `/` answers 200 too, so it also serves as the health check when that path is `/`.
        if path == "/":
            self.send_json(200, {"service": SERVICE_NAME, "message": "Hello from Paved"})
        elif path == HEALTH_CHECK_PATH:
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found", "path": path})

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def make_server(port, host="0.0.0.0"):
    """An HTTP server on `port` (0: any free port), not yet serving."""
    return ThreadingHTTPServer((host, port), Handler)


def main():
    server = make_server(int(os.environ.get("PORT", "{{ service_instance.inputs.port }}")))
    # shutdown() waits for serve_forever() to return, so it runs on another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{SERVICE_NAME} listening on port {server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
