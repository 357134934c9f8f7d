"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol, scripted.

Tests and the benchmark start it on a free loopback port and point the real ``openai`` SDK at
it, so the client's whole path runs (HTTP, JSON, status codes, timeouts). What it answers is
decided by a *script*: a function ``script(request) -> Reply`` given the parsed request body,
or a list of replies consumed in order (then the default answer).

Run it alone (for trying notebooks against it)::

    python tests/openai_server.py --port 8765 --latency 0.05

It only ever binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedOpenAIServer", "last_user_text", "judge_by_marker"]


@dataclass
class Reply:
    """What the server does with one request.

    ``text`` is the assistant's answer; ``status`` other than 200 sends an OpenAI-style error
    body (``retry_after`` sets the header); ``delay_s`` sleeps first (longer than the client's
    timeout = a timeout); ``raw`` sends these bytes as the body instead (malformed answers).
    """

    text: str = "OK"
    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    raw: bytes | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Script = Callable[[dict[str, Any]], Reply]


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the request's last user message (text parts joined)."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    return ""


def judge_by_marker(request: dict[str, Any], *, style: str = "json") -> Reply:
    """A content-driven scripted judge: prefers the conversation that contains ``GOOD``.

    The rendered judge prompt has a section per assistant; the one whose section holds the
    word ``GOOD`` wins; both or neither → tie (``both_bad`` when both hold ``BAD`` only).
    """
    text = last_user_text(request)
    part_a, _, part_b = text.partition("# Conversation with assistant B")
    good_a, good_b = "GOOD" in part_a, "GOOD" in part_b
    if good_a and not good_b:
        winner, label = "A", "[[A>>B]]"
    elif good_b and not good_a:
        winner, label = "B", "[[B>A]]"
    elif "BAD" in part_a and "BAD" in part_b and not good_a:
        winner, label = "both_bad", "[[A=B]]"
    else:
        winner, label = "tie", "[[A=B]]"
    if style == "label":
        return Reply(text=f"Both were read carefully.\nMy final verdict: {label}")
    return Reply(text=json.dumps({"reasoning": "scripted", "winner": winner}))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits
    # for the client's delayed ACK (~40 ms a request on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests read self.server.requests instead

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid"}})
            return
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(
                {
                    "path": self.path,
                    "body": request,
                    # Lower-case names: HTTP headers are case-insensitive.
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
            )
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        reply = owner.next_reply(request)
        with owner.lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            delay = owner.latency_s + reply.delay_s
            if delay:
                time.sleep(delay)
            if reply.raw is not None:
                self._send_bytes(reply.status, reply.raw, "application/json")
            elif reply.status != 200:
                headers = {"retry-after": reply.retry_after} if reply.retry_after else {}
                self._send(
                    reply.status,
                    {"error": {"message": f"scripted {reply.status}", "type": "scripted"}},
                    headers,
                )
            else:
                self._send(200, owner.completion(request, reply))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to do
        finally:
            with owner.lock:
                owner.in_flight -= 1

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many client threads connect at once in the throughput benchmark.
    request_queue_size = 128
    owner: ScriptedOpenAIServer


@dataclass
class ScriptedOpenAIServer:
    """The server; use as a context manager (``with ScriptedOpenAIServer(...) as server``).

    Parameters
    ----------
    script
        ``request -> Reply`` (default: answer ``"OK"``), used after ``queue`` is empty.
    queue
        Replies given first, in order (e.g. ``[Reply(status=429), Reply(status=500)]``).
    latency_s
        Added to every request (the benchmark's server-side latency).
    """

    script: Script | None = None
    queue: list[Reply] = field(default_factory=list)
    latency_s: float = 0.0
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_reply(self, request: dict[str, Any]) -> Reply:
        with self.lock:
            if self.queue:
                return self.queue.pop(0)
        return self.script(request) if self.script else Reply()

    def completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        with self.lock:
            self._counter += 1
            number = self._counter
        prompt_chars = sum(len(json.dumps(m)) for m in request.get("messages", []))
        prompt_tokens = (
            reply.prompt_tokens if reply.prompt_tokens is not None else prompt_chars // 4
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else max(1, len(reply.text) // 4)
        )
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "scripted"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def start(self) -> ScriptedOpenAIServer:
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"] for r in self.requests]


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--judge", choices=("ok", "json", "label"), default="json", help="what it answers"
    )
    options = parser.parse_args(list(argv) if argv is not None else None)
    script: Script | None = None
    if options.judge != "ok":
        style = options.judge

        def script(request: dict[str, Any]) -> Reply:
            return judge_by_marker(request, style=style)

    server = ScriptedOpenAIServer(script=script, latency_s=options.latency, port=options.port)
    server.start()
    print(f"listening on {server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
