"""Serve one WSGI application on loopback with the standard library only.

    python serve_wsgi.py HOST PORT module:attribute [--port-file F]
        [--log F] [--certfile F --keyfile F] [--threads]

The tests run the real Placement, Neutron and Keystone with it, from their
own virtualenvs, so nothing beyond each service's package is needed.
PORT 0 picks a free port; the port actually bound is written to
--port-file once the application is imported and the socket listens, so
a test never races another process for a port. --log appends one JSON
line per request (method, path, query, status and the headers the tests
check). --certfile/--keyfile serve HTTPS. --threads serves requests
concurrently (Placement validating tokens against Keystone while
Keystone answers the CLI needs no concurrency; it is there for speed).
"""
import argparse
import importlib
import json
import os
import socketserver
import ssl
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

LOGGED_HEADERS = ("HTTP_OPENSTACK_API_VERSION", "HTTP_X_OPENSTACK_REQUEST_ID",
                  "HTTP_X_AUTH_TOKEN", "HTTP_USER_AGENT", "CONTENT_TYPE",
                  "HTTP_ACCEPT")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the per-request log is ours
        pass


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def request_logger(app, path):
    lock = threading.Lock()

    def logged(environ, start_response):
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
            import io
            environ["wsgi.input"] = io.BytesIO(body)
        record = {"method": environ["REQUEST_METHOD"],
                  "path": environ.get("PATH_INFO", ""),
                  "query": environ.get("QUERY_STRING", ""),
                  "body": body.decode("utf-8", "replace")}
        for key in LOGGED_HEADERS:
            if key in environ:
                record[key] = environ[key]

        def recording_start(status, headers, exc_info=None):
            record["status"] = int(status.split()[0])
            with lock, open(path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            return start_response(status, headers, exc_info)
        return app(environ, recording_start)
    return logged


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("app")
    parser.add_argument("--port-file")
    parser.add_argument("--log")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--threads", action="store_true")
    args = parser.parse_args(argv)

    # Some apps (neutron) parse sys.argv with oslo.config at import.
    sys.argv = sys.argv[:1]
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    if args.log:
        app = request_logger(app, args.log)
    server = make_server(args.host, args.port, app,
                         server_class=ThreadingServer if args.threads
                         else WSGIServer,
                         handler_class=QuietHandler)
    if args.certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.certfile, args.keyfile)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(str(server.server_port))
        os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
