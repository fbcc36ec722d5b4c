"""A real HTTP receiver for webhook tests, on 127.0.0.1 in a thread: it checks each request's signature the way a
team's receiver should, and can fail its first requests (HTTP 500) to exercise retries."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from notifications import signing


class Receiver:
    def __init__(self, secret, *, fail_first=0):
        self.secret = secret
        self.fail_first = fail_first
        self.received = []  # dicts: at, path, headers, body, valid, status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = signing.verify(receiver.secret, body, self.headers.get(signing.TIMESTAMP),
                                       self.headers.get(signing.SIGNATURE))
                failing = len(receiver.received) < receiver.fail_first
                status = 401 if not valid else (500 if failing else 204)
                receiver.received.append({"at": time.monotonic(), "path": self.path, "headers": dict(self.headers),
                                          "body": body, "valid": valid, "status": status})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cryo"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
