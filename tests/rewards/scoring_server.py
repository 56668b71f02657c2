"""A small reward server for the tests of rule = "http": POST a JSON array of records, get a JSON
array of scores back (the length of each completion; {"score": 1, "correct": true} for "flag").
    python3 tests/rewards/scoring_server.py PORT_FILE
writes the port it listens on (127.0.0.1, chosen by the system) to PORT_FILE. Routes: /score;
/flaky (500 on every other request); /short (one score too few); /slow (3 s late); /private
(401 without "Authorization: Bearer s3cret").
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

calls = {"flaky": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        records = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        scores = [{"score": 1, "correct": True} if r["completion"] == "flag" else len(r["completion"]) for r in records]
        if self.path == "/flaky":
            with lock:
                calls["flaky"] += 1
                fail = calls["flaky"] % 2 == 1
            if fail:
                return self.reply(500, {"error": "try again"})
        if self.path == "/short":
            scores = scores[:-1]
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/private" and self.headers.get("Authorization") != "Bearer s3cret":
            return self.reply(401, {"error": "who are you"})
        self.reply(200, scores)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".part", "w") as f:
    f.write(str(server.server_address[1]))
__import__("os").rename(sys.argv[1] + ".part", sys.argv[1])
server.serve_forever()
