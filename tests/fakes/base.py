"""A real HTTP server on a free local port, in a thread, for a fake of an outside provider.

Each fake subclasses FakeServer and handles requests in `handle(request) -> Response`; the server
records every request (`requests`), can be told to hang (`hold()`: answers wait until `release()`, so a
client's timeout is what ends the call, with no sleep in the test) or to fail the next calls.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str  # with the query string, as sent
    headers: dict
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def json(self):
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None) -> "Response":
        body = json.dumps(data, ensure_ascii=False).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> "Response":
        return cls(status, text.encode(), {"Content-Type": content_type})


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._release.set()
        self._failures: list[Response] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                response = fake._dispatch(request)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):  # quiet: the tests read `requests`
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # --- What the tests control ----------------------------------------------------------------------

    def hold(self) -> None:
        """Every answer waits until release(): the client's own timeout decides."""
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def fail_next(self, response: Response, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([response] * times)

    def calls(self, route: str) -> list[Request]:
        return [r for r in self.requests if r.route == route]

    # --- Dispatch ------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
        self._release.wait(timeout=30)
        if failure is not None:
            return failure
        try:
            return self.handle(request)
        except Exception as exc:  # a fake's bug must show in the test, not hang it
            return Response.json({"code": "FAKE_ERROR", "message": f"{type(exc).__name__}: {exc}"}, 599)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError
