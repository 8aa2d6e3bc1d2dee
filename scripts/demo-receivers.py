#!/usr/bin/env python3
"""Local stand-ins for Grafana Loki's push API and a Slack incoming webhook, for scripts/demo.sh.

Neither Loki nor Slack can be installed here, so the demo runs these instead. They check what a
real one checks first (method, path, JSON shape, Loki's stream/value form, Slack's `text`) and
answer as it would (Loki 204, Slack 200 "ok"; 400 with the reason otherwise), and they print
what arrives: the first Loki batches and a running count, and every Slack message.

    demo-receivers.py LOKI_PORT SLACK_PORT
"""
import gzip
import http.server
import json
import sys
import threading

lock = threading.Lock()
loki = {"batches": 0, "lines": 0}


def say(text):
    with lock:
        print(text, flush=True)


class Receiver(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        return json.loads(raw)

    def log_message(self, *args):
        pass


class LokiStandIn(Receiver):
    def do_POST(self):
        if self.path != "/loki/api/v1/push":
            return self.answer(404, b"404 page not found\n")
        try:
            streams = self.body()["streams"]
            for stream in streams:
                assert isinstance(stream["stream"], dict) and stream["stream"], "a stream needs labels"
                for timestamp, line in stream["values"]:
                    int(timestamp), str(line)
        except Exception as error:  # the agent must never send this; say what was wrong
            say(f"[loki stand-in] refused a push: {error!r}")
            return self.answer(400, f"loghttp: invalid push request: {error}\n".encode())
        lines = sum(len(s["values"]) for s in streams)
        with lock:
            loki["batches"] += 1
            loki["lines"] += lines
            batches, total = loki["batches"], loki["lines"]
        if batches <= 3:
            first = streams[0]
            say(f"[loki stand-in] batch {batches}: {lines} lines, stream {json.dumps(first['stream'], sort_keys=True)}")
            for _, line in first["values"][:2]:
                say(f"    {line[:200]}")
        elif batches % 10 == 0:
            say(f"[loki stand-in] {total} lines in {batches} batches so far")
        self.answer(204)


class SlackStandIn(Receiver):
    def do_POST(self):
        if not self.path.startswith("/services/"):
            return self.answer(404, b"no_service")
        try:
            message = self.body()
        except Exception:
            return self.answer(400, b"invalid_payload")
        if not message.get("text"):
            return self.answer(400, b"no_text")
        sections = [b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section"]
        text = "\n".join([message["text"]] + sections)
        say("[slack stand-in] message:\n    " + text.replace("\n", "\n    "))
        self.answer(200, b"ok")


def serve(handler, port):
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    threading.Thread(target=serve, args=(LokiStandIn, int(sys.argv[1])), daemon=True).start()
    serve(SlackStandIn, int(sys.argv[2]))
