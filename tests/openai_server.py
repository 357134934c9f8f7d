"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol, scripted.

Tests and the benchmark start it on a free loopback port and point the real ``openai`` SDK at
it, so the client's whole path runs (HTTP, JSON, status codes, timeouts). What it answers is
decided by a *script*: a function ``script(request) -> Reply`` given the parsed request body,
or a list of replies consumed in order (then the default answer).

A request with ``"stream": true`` is answered with server-sent events, as OpenAI does: one
``chat.completion.chunk`` per piece of the answer (``Reply.chunk_chars`` characters, sent
``Reply.chunk_delay_s`` apart), the finish reason, the usage chunk when the request asked for
it (``stream_options.include_usage``), then ``data: [DONE]``. A reply can also cut the
connection mid-answer (``cut_after``), stall (``stall_after``/``stall_s``) or send an error
event mid-answer (``error_after``). The time each piece left is kept in ``server.sent``.

:class:`ReplayScript` answers with **real** answers: the bundled Arena-Hard answers of the
model asked (follow-up turns with another real answer to the same question), and plays
scripted faults per model (429s, cut streams, a slow model).

Run it alone (for trying notebooks against it)::

    python tests/openai_server.py --port 8765 --latency 0.05
    python tests/openai_server.py --port 8765 --replay      # the live arena's notebook (07)

It only ever binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Reply",
    "ScriptedOpenAIServer",
    "ReplayScript",
    "last_user_text",
    "first_user_text",
    "judge_by_marker",
]


@dataclass
class Reply:
    """What the server does with one request.

    ``text`` is the assistant's answer; ``status`` other than 200 sends an OpenAI-style error
    body (``retry_after`` sets the header); ``delay_s`` sleeps first (longer than the client's
    timeout = a timeout); ``raw`` sends these bytes as the body instead (malformed answers).

    Streamed answers only: ``chunk_chars`` characters per chunk, ``chunk_delay_s`` between
    chunks (a slow model); ``cut_after`` closes the connection once that many characters are
    sent (no finish, no ``[DONE]``: a dropped connection); ``stall_after`` pauses ``stall_s``
    after that many characters (longer than the client's timeout = a stall);
    ``error_after`` sends an error event (``error_status``, e.g. 429) after that many.
    """

    text: str = "OK"
    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    raw: bytes | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunk_chars: int = 12
    chunk_delay_s: float = 0.0
    cut_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    error_after: int | None = None
    error_status: int = 429


Script = Callable[[dict[str, Any]], Reply]


def _user_texts(request: dict[str, Any]) -> list[str]:
    """The text of each user message of the request, in order (text parts joined)."""
    texts = []
    for message in request.get("messages", []):
        if message.get("role") == "user":
            content = message.get("content")
            if not isinstance(content, str):
                content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
            texts.append(content)
    return texts


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the request's last user message (text parts joined)."""
    return (_user_texts(request) or [""])[-1]


def first_user_text(request: dict[str, Any]) -> str:
    """The text of the request's first user message (the prompt of a conversation)."""
    return (_user_texts(request) or [""])[0]


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


FOLLOW_UP_OPENING = "You are right; here is a revised version.\n\n"
"""How a replayed follow-up answer starts (the rest is another real answer)."""


class ReplayScript:
    """Answers with real answers, streamed, and plays scripted faults per model.

    Parameters
    ----------
    answers
        Served model name → {question text → that model's real answer}.
    faults
        Served model name → field overrides of :class:`Reply` for its next requests, one
        dict per request, in order (``{"status": 429, "retry_after": "0.2"}``,
        ``{"cut_after": 300}``, ``{"text": ""}``…); the real answer fills ``text``.
    chunk_chars, chunk_delay_s
        How every answer is streamed; ``slow`` gives some models their own delay.

    The first turn of a conversation gets the model's real answer to that question (a prompt
    that is not a known question: one of the model's real answers, picked by the prompt's
    hash). Turn k ≥ 2 gets :data:`FOLLOW_UP_OPENING` and another model's real answer to the
    same question (the other models in turn), so every follow-up differs from the turn before.
    """

    def __init__(
        self,
        answers: dict[str, dict[str, str]],
        *,
        faults: dict[str, list[dict[str, Any]]] | None = None,
        chunk_chars: int = 12,
        chunk_delay_s: float = 0.0,
        slow: dict[str, float] | None = None,
    ) -> None:
        self.answers = answers
        self.faults = {model: list(queue) for model, queue in (faults or {}).items()}
        self.chunk_chars = chunk_chars
        self.chunk_delay_s = chunk_delay_s
        self.slow = dict(slow or {})
        self.lock = threading.Lock()

    @classmethod
    def from_arena_hard(cls, **options: Any) -> ReplayScript:
        """The bundled Arena-Hard answers of gpt-4-0314, gpt-4-0613 and gpt-3.5-turbo-0125."""
        from arena_kit.datasets import bundled_responses

        prompts, responses = bundled_responses()
        questions = dict(zip(prompts["prompt_id"], prompts["instruction"], strict=True))
        answers: dict[str, dict[str, str]] = {}
        for model, prompt_id, messages in zip(
            responses["model"], responses["prompt_id"], responses["messages"], strict=True
        ):
            answer = next(
                (m["content"] for m in reversed(messages) if m["role"] == "assistant"), ""
            )
            answers.setdefault(str(model), {})[questions[prompt_id]] = answer
        return cls(answers, **options)

    def answer(self, model: str, prompt: str, turn: int) -> str:
        """The real answer ``model`` gives to ``prompt`` at ``turn`` (see the class)."""
        import hashlib

        known = self.answers.get(model) or next(iter(self.answers.values()))
        if turn <= 1:
            if prompt in known:
                return known[prompt]
            texts = sorted(known.values())
            digest = hashlib.sha256(f"{model}\x00{prompt}".encode()).digest()
            return texts[int.from_bytes(digest[:4], "big") % len(texts)]
        others = [m for m in sorted(self.answers) if m != model] or [model]
        other = others[(turn - 2) % len(others)]
        return FOLLOW_UP_OPENING + self.answer(other, prompt, 1)

    def __call__(self, request: dict[str, Any]) -> Reply:
        model = str(request.get("model", ""))
        turn = sum(m.get("role") == "user" for m in request.get("messages", []))
        fields: dict[str, Any] = {
            "text": self.answer(model, first_user_text(request), turn),
            "chunk_chars": self.chunk_chars,
            "chunk_delay_s": self.slow.get(model, self.chunk_delay_s),
        }
        with self.lock:
            queue = self.faults.get(model)
            if queue:
                fields.update(queue.pop(0))
        return Reply(**fields)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits
    # for the client's delayed ACK (~40 ms a request on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests read self.server.requests instead

    def handle(self) -> None:
        # The client may close a kept-alive connection at any time (it stopped, or gave up).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

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
            elif request.get("stream"):
                self._stream(request, reply)
            else:
                self._send(200, owner.completion(request, reply))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to do
        finally:
            with owner.lock:
                owner.in_flight -= 1

    def _stream(self, request: dict[str, Any], reply: Reply) -> None:
        """The answer as server-sent events over a chunked body, piece by piece."""
        owner = self.server.owner
        number = owner.next_number()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        base = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.get("model", "scripted"),
        }

        def event(data: Any) -> None:
            line = "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
            body = line.encode()
            self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n")

        def delta(content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": content, "finish_reason": finish}
            return {**base, "choices": [choice]}

        event(delta({"role": "assistant", "content": ""}))
        text, size, sent = reply.text, max(1, reply.chunk_chars), 0
        while sent < len(text):
            if reply.cut_after is not None and sent >= reply.cut_after:
                # A dropped connection: no last chunk, no [DONE], no end of the chunked body.
                self.close_connection = True
                return
            if reply.error_after is not None and sent >= reply.error_after:
                message = f"scripted error {reply.error_status} mid-answer"
                event({"error": {"message": message, "type": "scripted",
                                 "code": reply.error_status}})  # fmt: skip
                self.wfile.write(b"0\r\n\r\n")
                return
            if reply.stall_after is not None and sent >= reply.stall_after and reply.stall_s:
                time.sleep(reply.stall_s)
                reply = dataclasses.replace(reply, stall_after=None)
            piece = text[sent : sent + size]
            event(delta({"content": piece}))
            sent += len(piece)
            owner.log_sent(number, sent, piece)
            if reply.chunk_delay_s and sent < len(text):
                time.sleep(reply.chunk_delay_s)
        event(delta({}, "stop"))
        if (request.get("stream_options") or {}).get("include_usage"):
            usage = owner.usage(request, reply)
            event({**base, "choices": [], "usage": usage})
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        owner.log_sent(number, sent, None)

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
    sent: list[tuple[int, float, int, str | None]] = field(default_factory=list)
    """Streamed pieces as they left: ``(response number, time.time(), characters sent so far,
    the piece)``; the piece is None for the end of the answer."""

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

    def next_number(self) -> int:
        with self.lock:
            self._counter += 1
            return self._counter

    def log_sent(self, number: int, chars: int, piece: str | None) -> None:
        with self.lock:
            self.sent.append((number, time.time(), chars, piece))

    def usage(self, request: dict[str, Any], reply: Reply) -> dict[str, int]:
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
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        number = self.next_number()
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
            "usage": self.usage(request, reply),
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
    parser.add_argument(
        "--replay",
        action="store_true",
        help="answer with the bundled Arena-Hard answers, streamed (the live arena)",
    )
    parser.add_argument(
        "--chunk-delay", type=float, default=0.02, help="seconds between streamed pieces"
    )
    options = parser.parse_args(list(argv) if argv is not None else None)
    script: Script | None = None
    if options.replay:
        script = ReplayScript.from_arena_hard(chunk_delay_s=options.chunk_delay)
    elif options.judge != "ok":
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
