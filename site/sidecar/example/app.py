#!/usr/bin/env python3
"""A web application that knows nothing of DNT-D, run behind rbutton-vendor.

It reads one request header, DNT-D-Agreement, which only the sidecar sets:
what the visitor agreed to (absent without an agreement). Where analytics
is agreed it keeps page views under the visitor's session, hands them back
through the items hook and forgets them through the ended hook.

usage: python3 app.py PORT   (listens on 127.0.0.1 only: the hooks must
not be reachable from outside, and rbutton-vendor refuses to proxy them)
"""
import html, json, re, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

views = {}  # session id -> page views


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        agreed = self.headers.get("DNT-D-Agreement")  # an RFC 9651 Dictionary
        session = re.search(r'\bsession="([^"]+)"', agreed or "")
        analytics = re.search(r"\bpurposes=\([^)]*\banalytics\b", agreed or "")
        if session and analytics and "text/html" in self.headers.get("Accept", ""):  # pages, not favicons
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            views.setdefault(session[1], []).append({"type": "page-view", "time": now, "data": {"path": self.path}})
        page = ("<!doctype html><meta charset=utf-8><title>Polyglot Café</title><h1>Polyglot Café</h1>"
                "<p>Served by Python behind rbutton-vendor.<p>What you agreed to: "
                f"<code id=agreed>{html.escape(agreed or 'nothing yet')}</code>")
        self.reply(200, "text/html; charset=utf-8", page)

    def do_POST(self):
        rel = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/hooks/items":  # what we hold about a relationship
            items = [v for s in rel["sessions"] for v in views.get(s, [])]
            self.reply(200, "application/json", json.dumps({"items": items}))
        elif self.path == "/hooks/ended":  # the relationship ended: forget it
            for s in rel["sessions"]:
                views.pop(s, None)
            self.reply(204, None, "")
        else:
            self.reply(404, "text/plain", "not found")

    def reply(self, status, ctype, body):
        data = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("app: " + (fmt % args) + "\n")


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App).serve_forever()
