#!/usr/bin/env python3
"""The lab's "internet": a marker page and the OS connectivity probes, on TCP 80, 443 and 2222.

443 and 2222 serve plain HTTP too: the lab only needs to tell "connected" from "refused" on
them (a captive client gets a TCP reset on 443 and an ICMP error on other ports).
"""
import http.server
import socketserver
import sys
import threading

MARKER = b"<!DOCTYPE html><html><head><title>Marker</title></head><body>DUET-LAB-MARKER</body></html>\n"
PAGES = {
    "/generate_204": (204, b"", "text/plain"),
    "/hotspot-detect.html": (200, b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>", "text/html"),
    "/connecttest.txt": (200, b"Microsoft Connect Test", "text/plain"),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        status, body, ctype = PAGES.get(path, (200, MARKER, "text/html"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


servers = [Server(("0.0.0.0", port), Handler) for port in (80, 443, 2222)]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("internet ready", flush=True)
servers[0].serve_forever()
