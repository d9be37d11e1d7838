"""Starts the service on a free port and checks what it answers."""
import json
import threading
import unittest
import urllib.error
import urllib.request

import app


class AppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = app.make_server(0, host="127.0.0.1")
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    def test_health_check_answers_ok(self):
        status, _ = self.get(app.HEALTH_CHECK_PATH)
        self.assertEqual(status, 200)

    def test_root_names_the_service(self):
        status, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(body["service"], app.SERVICE_NAME)

    def test_unknown_path_is_not_found(self):
        status, _ = self.get("/no-such-page")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
