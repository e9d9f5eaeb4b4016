"""A live server for browser tests that can be stopped and started again on the same address (the web
player's origin must not change: its service worker, Cache Storage and IndexedDB belong to it).

It serves the whole project (static files included) from threads of this process, on the test database,
and records the body of every request to a path given in `record`, so a test can count what reached the
server.
"""

import io
import json
import threading

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from werkzeug.serving import make_server


class RestartableServer:
    def __init__(self, port: int, record: tuple[str, ...] = ()):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.record = record
        self.bodies: list[tuple[str, dict]] = []
        self._app = StaticFilesHandler(WSGIHandler())
        self._server = None
        self._thread = None

    def _wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/") in self.record:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                self.bodies.append((path, json.loads(raw or b"null")))
            except ValueError:
                self.bodies.append((path, {"unreadable": raw.decode(errors="replace")}))
        response = self._app(environ, start_response)
        try:
            return list(response)  # read whole here, so that this thread's connections close here
        finally:
            response.close()
            connections.close_all()  # none outlives the server

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self._server.daemon_threads = False  # stop() waits for the requests in flight
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None
