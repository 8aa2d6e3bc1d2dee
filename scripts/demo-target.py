#!/usr/bin/env python3
"""Loopback demo targets for latency-agent: /ok, /slow (120 ms), /flaky (every 4th answer 500),
/outage (503 from 15 s to 27 s of every 40 s after start: an outage that fires and resolves)."""
import http.server
import sys
import threading
import time

count = 0
lock = threading.Lock()
started = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        status, body = 200, b"ok\n"
        if self.path == "/slow":
            time.sleep(0.12)
        elif self.path == "/flaky":
            with lock:
                count += 1
                if count % 4 == 0:
                    status, body = 500, b"boom\n"
        elif self.path == "/outage":
            if 15 <= (time.monotonic() - started) % 40 < 27:
                status, body = 503, b"down for maintenance\n"
        elif self.path != "/ok":
            status, body = 404, b"not found\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 28481
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
