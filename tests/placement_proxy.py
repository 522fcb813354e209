"""A pass-through in front of the real Placement for tests that need a
change to land at a precise moment of a run (another nova process
writing between nmtool's read and its write): every request is
forwarded as is, and after = callable(method, path) is called once the
real answer is in hand, before it is handed back. Nothing is faked:
the answers, and the changes the callbacks make through the real API or
database, are the services' own."""
import http.server
import threading

import requests

SKIP_HEADERS = ("content-length", "connection", "transfer-encoding",
                "content-encoding", "date", "server")


class PlacementProxy:
    def __init__(self, target_url, after=None):
        self.target = target_url
        self.after = after or (lambda method, path: None)
        self.requests = []              # (method, path without query)
        upstream = requests.Session()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length",
                                                "connection")}
                resp = upstream.request(self.command,
                                        proxy.target + self.path,
                                        data=body, headers=headers,
                                        timeout=30)
                path = self.path.split("?")[0]
                proxy.requests.append((self.command, path))
                proxy.after(self.command, path)
                self.send_response(resp.status_code)
                for key, value in resp.headers.items():
                    if key.lower() not in SKIP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_PUT = do_POST = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
