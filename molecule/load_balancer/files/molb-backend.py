# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny web node for the load_balancer scenario.

usage: python3 molb-backend.py NAME PORT

Listens on 127.0.0.1:PORT. `GET /health` answers 200 (503 while /run/molb-backend-NAME.down exists);
every other request answers 200 with a JSON body naming the backend, the path and the forwarding
headers the load balancer added.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[1]
PORT = int(sys.argv[2])
DOWN_FLAG = "/run/molb-backend-%s.down" % NAME


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status, body):
        data = (json.dumps(body, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            down = os.path.exists(DOWN_FLAG)
            self._answer(503 if down else 200, {"status": "fail" if down else "ok", "host": NAME})
            return
        self._answer(200, {
            "backend": NAME,
            "path": self.path,
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
        })

    do_HEAD = do_GET

    def log_message(self, format, *args):  # the signature of BaseHTTPRequestHandler
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
