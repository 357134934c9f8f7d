"""Talk to any OpenAI-compatible chat endpoint: generate answers, and serve the LLM judges.

One :class:`ModelClient` per configuration. It is built from a small YAML file (or a dict)::

    base_url: https://api.openai.com/v1   # or http://127.0.0.1:8000/v1 (vLLM), :11434/v1 (Ollama)
    api_key_env: OPENAI_API_KEY           # the NAME of the variable; null for keyless servers
    concurrency: 16                       # requests in flight at once
    max_retries: 4                        # extra tries on 429, 5xx, timeouts, dropped connections
    backoff_s: 1.0                        # first wait; doubles each try (Retry-After wins)
    timeout_s: 120
    cache_dir: .cache/arena-kit/models    # null: no disk cache
    models:
      gpt-4o-mini:                        # the name used in tables
        model: gpt-4o-mini                # the name the server knows (default: the key)
        temperature: 0.0
        max_tokens: 4096
        price_in: 0.15                    # USD per million input tokens (cost accounting)
        price_out: 0.60
        vision: true                      # may receive screenshots
      local-qwen:
        base_url: http://127.0.0.1:8000/v1  # per-model endpoint overrides
        api_key_env: null

The key is read from the environment when a request is sent; it is never part of the cache key,
the cache files, the usage table or any repr, so notebooks' outputs cannot leak it.

The disk cache holds one JSON file per request, named by a SHA-256 of (base URL, served model,
messages, sampling parameters), written atomically; a second run of a notebook costs nothing.

:meth:`ModelClient.stream` sends one request with ``stream=True`` and hands each piece of the
answer to a callback as it arrives (the live arena shows both answers growing side by side). It
never reads or writes the cache: a person's prompt must get a fresh answer.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import mimetypes
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArenaKitError
from .schema import content_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "Generation",
    "answer_prompts",
    "ModelError",
    "ModelSpec",
    "ClientConfig",
    "Completion",
    "ModelClient",
    "RetryNotice",
    "image_part",
    "user_message",
    "generate",
]

DEFAULT_SYSTEM_PROMPT = """\
You are an expert software engineer and UI/UX designer. Write complete, self-contained code \
that runs as it is, in one file, in one of the sandbox environments below. Explain briefly \
if you wish, but put the whole program in ONE fenced code block tagged with its language, \
and put any install commands (pip install ..., npm install ...) in a separate ```bash block.

Environments the code can run in:
- HTML: a complete page (inline CSS and JavaScript); no network at view time.
- React (JavaScript or TypeScript, React 18): one component exported by default; Tailwind \
classes may be used for styling.
- Vue 3: one single-file component.
- Streamlit (Python) or Gradio (Python): one app script.
- PyGame (Python): an async main loop (`async def main()` with `await asyncio.sleep(0)` per \
frame, run by `asyncio.run(main())`).
- Mermaid: one diagram in a ```mermaid block.
- Python or JavaScript runners: a script whose output (printed text, plots) is shown.
- C, C++, Java, Go, Rust: a program with a main function that prints its results; it \
receives no input, so embed example data and test cases.

The code must not ask for user input on the command line, must not need files or services \
that do not exist, and should show its result: a visible interface, a plot, or printed output.
"""
"""The default system prompt: tells a model which sandboxes will run its answer (the role the
environment-aware prompt of the original BigCodeArena plays; our own wording)."""

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class ModelError(ArenaKitError):
    """A request to a model endpoint failed for good (after retries), or the set-up is wrong."""


@dataclass(frozen=True)
class ModelSpec:
    """One model as named in the configuration.

    Parameters
    ----------
    name
        The name used in tables (``responses.model``, judge names).
    model
        The name the server knows (defaults to ``name``).
    base_url, api_key_env
        Per-model endpoint overrides: ``base_url=None`` and ``api_key_env=""`` use the
        client's; ``api_key_env=None`` means a server that needs no key.
    temperature, max_tokens, top_p, seed
        Sampling parameters sent with every request (``None``: not sent).
    price_in, price_out
        US dollars per million input / output tokens, for cost accounting.
    vision
        The model accepts images (screenshots are sent to it as judge inputs).
    extra
        Other request parameters sent as they are (``extra_body`` of the SDK).
    """

    name: str
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = ""
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    vision: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.model:
            object.__setattr__(self, "model", self.name)

    def parameters(self) -> dict[str, Any]:
        """The sampling parameters that go into the request (and the cache key)."""
        values = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class ClientConfig:
    """Endpoint, limits and models of a :class:`ModelClient` (see the module docstring)."""

    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 8
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 120.0
    cache_dir: str | None = ".cache/arena-kit/models"
    models: Mapping[str, ModelSpec] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> ClientConfig:
        """Build a configuration from the YAML's mapping, rejecting unknown keys and keys."""
        if "api_key" in data or any(
            isinstance(m, Mapping) and "api_key" in m for m in (data.get("models") or {}).values()
        ):
            raise ModelError(
                f"{source}: an API key is written in the configuration. Fix: remove it and name "
                "the environment variable that holds it instead (api_key_env: OPENAI_API_KEY)"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(
                f"{source}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = {k: v for k, v in data.items() if k != "models"}
        models: dict[str, ModelSpec] = {}
        raw_models: Any = data.get("models") or {}
        if isinstance(raw_models, Sequence) and not isinstance(raw_models, str):
            raw_models = {str(name): {} for name in raw_models}
        if not isinstance(raw_models, Mapping):
            raise ModelError(f"{source}: models must be a mapping of name -> settings")
        spec_fields = {f.name for f in dataclasses.fields(ModelSpec)}
        for name, options in raw_models.items():
            if isinstance(options, ModelSpec):
                models[str(name)] = options
                continue
            options = dict(options or {})
            bad = sorted(set(options) - spec_fields)
            if bad:
                raise ModelError(
                    f"{source}: model {name!r}: unknown setting(s) {', '.join(bad)}; "
                    f"known: {', '.join(sorted(spec_fields - {'name'}))}"
                )
            models[str(name)] = ModelSpec(name=str(name), **options)
        return cls(**values, models=models)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ClientConfig:
        """Read a configuration file (YAML)."""
        import yaml

        path = Path(path)
        if not path.exists():
            raise ModelError(f"{path}: configuration file not found. Fix: check the path")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise ModelError(f"{path}: expected a mapping of settings at the top level")
        return cls.from_dict(data, source=str(path))

    def spec(self, name: str) -> ModelSpec:
        """The spec of model ``name`` (a bare spec when the configuration does not list it)."""
        return self.models.get(name) or ModelSpec(name=name)


@dataclass
class Completion:
    """One answer: its text, token counts, cost and where it came from."""

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    attempts: int = 1
    latency_s: float = 0.0
    finish_reason: str | None = None
    error: str | None = None
    cancelled: bool = False
    """A streamed request stopped by its caller (``error`` says so too)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RetryNotice:
    """What :meth:`ModelClient.stream` tells its caller before it tries a request again.

    The text streamed by the failed attempt is void: the next attempt starts the answer over.
    """

    attempt: int
    """The attempt about to start (2 for the first retry)."""
    attempts: int
    """The most attempts there will be (``max_retries + 1``)."""
    error: str
    """Why the last attempt failed, in words (``HTTP 429 …``, ``the connection was cut …``)."""
    wait_s: float
    """Seconds waited before the attempt (backoff with jitter, or the server's Retry-After)."""

    def __str__(self) -> str:
        return (
            f"{self.error}; retrying in {self.wait_s:.1f} s "
            f"(attempt {self.attempt} of {self.attempts})"
        )


def image_part(path: str | Path, *, detail: str = "auto") -> dict[str, Any]:
    """An image content part (a data URL) for a vision model, from a PNG/JPEG file."""
    path = Path(path)
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {
        "type": "image_url",
        "image_url": {"url": f"data:{mime};base64,{data}", "detail": detail},
    }


def user_message(text: str, images: Iterable[str | Path] = ()) -> dict[str, Any]:
    """A user message; with images it uses the multi-part content format."""
    paths = list(images)
    if not paths:
        return {"role": "user", "content": text}
    return {
        "role": "user",
        "content": [{"type": "text", "text": text}, *(image_part(p) for p in paths)],
    }


class _Usage:
    """Thread-safe counters of requests, tokens and cost per model."""

    _FIELDS = (
        "requests",
        "cache_hits",
        "retries",
        "failures",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, float]] = {}

    def add(self, model: str, **amounts: float) -> None:
        with self._lock:
            row = self._rows.setdefault(model, dict.fromkeys(self._FIELDS, 0.0))
            for key, amount in amounts.items():
                row[key] += amount

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        with self._lock:
            rows = [{"model": m, **v} for m, v in sorted(self._rows.items())]
        frame = pd.DataFrame(rows, columns=["model", *self._FIELDS])
        for name in self._FIELDS[:-1]:
            frame[name] = frame[name].astype("int64")
        return frame


class ModelClient:
    """Chat completions against OpenAI-compatible endpoints, with cache, retries and accounting.

    Parameters
    ----------
    config
        A :class:`ClientConfig`, a mapping of the same settings, or the path of a YAML file.
    **overrides
        Settings that replace the configuration's (``concurrency=16``, ``cache_dir=None``…).

    Examples
    --------
    >>> client = ModelClient("models.yaml")                       # doctest: +SKIP
    >>> client.complete("gpt-4o-mini", [user_message("Hello")]).text  # doctest: +SKIP
    >>> client.usage()                                             # doctest: +SKIP
    """

    def __init__(
        self, config: ClientConfig | Mapping[str, Any] | str | Path | None = None, **overrides: Any
    ) -> None:
        if config is None:
            config = ClientConfig()
        elif isinstance(config, (str, Path)):
            config = ClientConfig.from_yaml(config)
        elif not isinstance(config, ClientConfig):
            config = ClientConfig.from_dict(config)
        if overrides:
            known = {f.name for f in dataclasses.fields(ClientConfig)}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise ModelError(
                    f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                )
            if "models" in overrides:
                overrides["models"] = ClientConfig.from_dict(
                    {"models": overrides["models"]}, source="models="
                ).models
            config = dataclasses.replace(config, **overrides)
        if config.concurrency < 1:
            raise ModelError(f"concurrency must be at least 1 (got {config.concurrency})")
        self.config = config
        self._usage = _Usage()
        self._sdk_clients: dict[tuple[str, str | None], Any] = {}
        self._sdk_lock = threading.Lock()

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> ModelClient:
        """A client configured by the YAML file at ``path``."""
        return cls(ClientConfig.from_yaml(path), **overrides)

    def __repr__(self) -> str:
        # The key never appears: only the variable's name.
        c = self.config
        return (
            f"ModelClient(base_url={c.base_url!r}, api_key_env={c.api_key_env!r}, "
            f"concurrency={c.concurrency}, models={list(c.models)!r})"
        )

    # -- accounting --------------------------------------------------------------------------

    def usage(self) -> pd.DataFrame:
        """Requests, cache hits, retries, failures, tokens and cost (USD) per model so far."""
        return self._usage.frame()

    # -- one request -------------------------------------------------------------------------

    def _endpoint(self, spec: ModelSpec) -> tuple[str, str | None]:
        base_url = spec.base_url or self.config.base_url
        key_env = self.config.api_key_env if spec.api_key_env == "" else spec.api_key_env
        return base_url.rstrip("/"), key_env

    def _sdk(self, base_url: str, key_env: str | None) -> Any:
        with self._sdk_lock:
            client = self._sdk_clients.get((base_url, key_env))
            if client is None:
                import openai

                if key_env:
                    key = os.environ.get(key_env)
                    if not key:
                        raise ModelError(
                            f"the environment variable {key_env} that should hold the API key "
                            f"for {base_url} is not set. Fix: export {key_env}=... before "
                            "starting Jupyter, or set api_key_env: null for a keyless server"
                        )
                else:
                    key = "no-key"  # keyless servers (vLLM, Ollama) still want some header
                # Retries are ours (counted, with Retry-After); the SDK's are switched off.
                client = openai.OpenAI(
                    base_url=base_url,
                    api_key=key,
                    max_retries=0,
                    timeout=self.config.timeout_s,
                )
                self._sdk_clients[(base_url, key_env)] = client
            return client

    def cache_key(self, model: str, messages: Sequence[Mapping[str, Any]]) -> str:
        """The cache key of a request: SHA-256 of endpoint, served model, messages, parameters."""
        spec = self.config.spec(model)
        base_url, _ = self._endpoint(spec)
        blob = json.dumps(
            [base_url, spec.model, list(messages), spec.parameters(), dict(spec.extra)],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        if not self.config.cache_dir:
            return None
        return Path(self.config.cache_dir) / key[:2] / f"{key}.json"

    def _cache_read(self, key: str) -> dict[str, Any] | None:
        path = self._cache_path(key)
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is a miss; the next answer overwrites it
        return data if isinstance(data, dict) and "text" in data else None

    def _cache_write(self, key: str, completion: Completion) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        from .io import atomic_path

        record = {
            "key": key,
            "model": completion.model,
            "text": completion.text,
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "finish_reason": completion.finish_reason,
            "created": time.time(),
        }
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")

    def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        use_cache: bool = True,
        raise_on_error: bool = True,
    ) -> Completion:
        """Send one chat request (or answer it from the cache).

        Retries 408/409/429/5xx answers, timeouts and dropped connections ``max_retries`` times
        with exponential backoff and jitter (a ``Retry-After`` header is obeyed, capped at
        ``max_backoff_s``). Other errors (400, 401, 404…) fail at once.

        Returns
        -------
        Completion
            With ``error`` set (and ``text`` empty) when it failed and ``raise_on_error`` is
            false.

        Raises
        ------
        ModelError
            When the request failed for good and ``raise_on_error`` is true.
        """
        spec = self.config.spec(model)
        key = self.cache_key(model, messages)
        if use_cache:
            hit = self._cache_read(key)
            if hit is not None:
                self._usage.add(model, cache_hits=1)
                return Completion(
                    text=hit["text"],
                    model=model,
                    input_tokens=int(hit.get("input_tokens") or 0),
                    output_tokens=int(hit.get("output_tokens") or 0),
                    cached=True,
                    attempts=0,
                    finish_reason=hit.get("finish_reason"),
                )
        completion = self._request(spec, messages)
        if completion.ok:
            self._cache_write(key, completion)
        elif raise_on_error:
            raise ModelError(f"{model}: {completion.error}")
        return completion

    def _request(self, spec: ModelSpec, messages: Sequence[Mapping[str, Any]]) -> Completion:
        base_url, key_env = self._endpoint(spec)
        sdk = self._sdk(base_url, key_env)
        started = time.perf_counter()
        error = "no attempt made"
        attempts = 0
        for attempt in range(self.config.max_retries + 1):
            attempts = attempt + 1
            self._usage.add(spec.name, requests=1, retries=1 if attempt else 0)
            try:
                answer = sdk.chat.completions.create(
                    model=spec.model,
                    messages=list(messages),
                    extra_body=dict(spec.extra) or None,
                    **spec.parameters(),
                )
            except Exception as exc:
                failure = self._failure(exc, base_url)
                if failure is None:
                    raise
                error, retry, retry_after = failure
                if not retry:
                    break
            else:
                try:
                    return self._completion(spec, answer, attempts, time.perf_counter() - started)
                except ValueError as exc:
                    error = f"malformed answer from {base_url}: {exc}"
                retry_after = None
            if attempt < self.config.max_retries:
                time.sleep(self._backoff(attempt, retry_after))
        return self._gave_up(spec, error, attempts, started)

    def _gave_up(self, spec: ModelSpec, error: str, attempts: int, started: float) -> Completion:
        """The failed completion returned once every retry is spent (counted in the usage)."""
        self._usage.add(spec.name, failures=1)
        return Completion(
            text="",
            model=spec.name,
            attempts=attempts,
            latency_s=time.perf_counter() - started,
            error=f"{error} (after {attempts} attempt(s))",
        )

    def _failure(
        self, exc: BaseException, base_url: str, *, streamed: int | None = None
    ) -> tuple[str, bool, float | None] | None:
        """``(what went wrong, whether to try again, Retry-After seconds)`` for an exception of
        the SDK; None for anything else (a bug, to be raised).

        408/409/429/5xx answers, timeouts, dropped connections and malformed bodies are
        retried; other statuses (400, 401, 404…) are not. ``streamed``: characters of the
        answer already received (a streamed request): a connection cut or a stall then says
        so, and an error the server sends in the middle of a stream is retried.
        """
        import openai

        if isinstance(exc, openai.APIStatusError):
            error = f"HTTP {exc.status_code} from {base_url}: {_short(exc.message)}"
            retry_after = _retry_after(exc.response.headers.get("retry-after"))
            return error, exc.status_code in _RETRY_STATUS, retry_after
        if isinstance(exc, openai.APITimeoutError):
            if streamed:
                return (
                    f"the answer stalled for more than {self.config.timeout_s:g} s "
                    f"(after {streamed} characters)",
                    True,
                    None,
                )
            return f"no answer from {base_url} within {self.config.timeout_s:g} s", True, None
        if isinstance(exc, openai.APIConnectionError):
            if streamed is not None:
                cause = _short(str(exc.__cause__ or exc))
                return (
                    f"the connection to {base_url} was cut mid-answer "
                    f"(after {streamed} characters: {cause})",
                    True,
                    None,
                )
            return f"cannot reach {base_url}: {_short(str(exc.__cause__ or exc))}", True, None
        if isinstance(exc, (ValueError, openai.APIResponseValidationError)):
            # A body that is not a chat completion (a proxy's error page, a cut answer):
            # often transient, so it is retried like a 5xx.
            return f"malformed answer from {base_url}: {_short(str(exc))}", True, None
        if isinstance(exc, openai.APIError):
            if streamed is not None:
                # An error event in an open stream (an overloaded server, a rate limit hit
                # mid-answer): the answer so far is void, and trying again usually works.
                said = _short(str(exc))
                return f"the server stopped the answer with an error: {said}", True, None
            return f"request to {base_url} failed: {_short(str(exc))}", False, None
        return None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.max_backoff_s)
        wait = self.config.backoff_s * (2**attempt)
        # Jitter spreads the retries of many threads that hit one 429 together.
        return float(min(wait * (0.5 + random.random()), self.config.max_backoff_s))

    def _completion(
        self, spec: ModelSpec, answer: Any, attempts: int, latency: float
    ) -> Completion:
        choices = getattr(answer, "choices", None) or []
        if not choices or getattr(choices[0], "message", None) is None:
            raise ValueError("the answer has no choices")
        text = choices[0].message.content or ""
        usage = getattr(answer, "usage", None)
        return self._finished(spec, text, usage, choices[0].finish_reason, attempts, latency)

    def _finished(
        self,
        spec: ModelSpec,
        text: str,
        usage: Any,
        finish: str | None,
        attempts: int,
        latency: float,
    ) -> Completion:
        """The completion of an answer, its tokens and cost counted in the usage table."""
        input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (input_tokens * spec.price_in + output_tokens * spec.price_out) / 1e6
        self._usage.add(
            spec.name, input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost
        )
        return Completion(
            text=text,
            model=spec.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            attempts=attempts,
            latency_s=latency,
            finish_reason=finish,
        )

    # -- one streamed request ----------------------------------------------------------------

    def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        on_text: Callable[[str], None] | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        """Send one chat request with ``stream=True``; hand each piece of the answer to
        ``on_text`` as it arrives. Never cached (a live prompt gets a fresh answer).

        Retries like :meth:`complete` (429 and 5xx answers, timeouts — a stall longer than
        ``timeout_s`` between two pieces counts —, connections cut mid-answer, an error event
        in the stream, a stream that ends without a finish reason): before each new attempt
        ``on_retry`` gets a :class:`RetryNotice`, and the text streamed so far is void (the
        next attempt starts the answer over).

        Parameters
        ----------
        model
            A model name of the configuration (or one the server knows).
        messages
            The whole conversation so far (system message included).
        on_text
            Called with each new piece of the answer's text, in the calling thread.
        on_retry
            Called before each retry (what failed, the wait, the attempt).
        cancel
            Set it (from another thread) to stop: checked between pieces and during the
            backoff waits; the request's connection is closed.

        Returns
        -------
        Completion
            ``error`` set when the request failed for good; ``cancelled`` (and ``error``)
            when ``cancel`` stopped it. Token counts come from the stream's usage chunk
            (``stream_options.include_usage``) when the server sends one.
        """
        spec = self.config.spec(model)
        base_url, key_env = self._endpoint(spec)
        sdk = self._sdk(base_url, key_env)
        started = time.perf_counter()
        error = "no attempt made"
        attempts = 0
        total = self.config.max_retries + 1

        def stopped() -> bool:
            return cancel is not None and cancel.is_set()

        def cancelled() -> Completion:
            return Completion(
                text="",
                model=spec.name,
                attempts=attempts,
                latency_s=time.perf_counter() - started,
                error="cancelled",
                cancelled=True,
            )

        for attempt in range(total):
            if stopped():
                return cancelled()
            attempts = attempt + 1
            self._usage.add(spec.name, requests=1, retries=1 if attempt else 0)
            parts: list[str] = []
            retry_after: float | None = None
            streamed: int | None = None
            try:
                answer = sdk.chat.completions.create(
                    model=spec.model,
                    messages=list(messages),
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_body=dict(spec.extra) or None,
                    **spec.parameters(),
                )
                streamed = 0
                finish: str | None = None
                usage: Any = None
                with answer:
                    for chunk in answer:
                        if stopped():
                            return cancelled()  # leaving the block closes the connection
                        usage = getattr(chunk, "usage", None) or usage
                        for choice in getattr(chunk, "choices", None) or []:
                            piece = getattr(getattr(choice, "delta", None), "content", None)
                            if piece:
                                parts.append(piece)
                                streamed += len(piece)
                                if on_text is not None:
                                    on_text(piece)
                            finish = getattr(choice, "finish_reason", None) or finish
                if stopped():
                    return cancelled()
                if finish is None:
                    # A proxy that drops the connection cleanly ends the body without the
                    # answer's last chunk: what came is not the whole answer.
                    error = (
                        f"the answer from {base_url} ended before it was finished "
                        f"(after {streamed} characters, no finish reason)"
                    )
                else:
                    return self._finished(
                        spec, "".join(parts), usage, finish, attempts,
                        time.perf_counter() - started,
                    )  # fmt: skip
            except Exception as exc:
                failure = self._failure(exc, base_url, streamed=streamed)
                if failure is None:
                    raise
                error, retry, retry_after = failure
                if not retry:
                    break
            if attempt < total - 1:
                wait = self._backoff(attempt, retry_after)
                if on_retry is not None:
                    on_retry(RetryNotice(attempt=attempts + 1, attempts=total, error=error,
                                         wait_s=wait))  # fmt: skip
                if cancel is not None:
                    if cancel.wait(wait):
                        return cancelled()
                else:
                    time.sleep(wait)
        return self._gave_up(spec, error, attempts, started)

    # -- many requests -----------------------------------------------------------------------

    def complete_many(
        self,
        requests: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
        *,
        use_cache: bool = True,
        progress: bool = True,
        description: str = "requests",
    ) -> list[Completion]:
        """Send ``(model, messages)`` requests, ``concurrency`` at a time, in input order.

        A request that fails for good gives a :class:`Completion` with ``error`` set; it does
        not stop the others.
        """
        from tqdm.auto import tqdm

        results: list[Completion | None] = [None] * len(requests)

        def one(index: int) -> None:
            model, messages = requests[index]
            try:
                results[index] = self.complete(
                    model, messages, use_cache=use_cache, raise_on_error=False
                )
            except ModelError as exc:
                results[index] = Completion(text="", model=model, error=str(exc))

        pool = ThreadPoolExecutor(max_workers=self.config.concurrency)
        try:
            with tqdm(total=len(requests), desc=description, disable=not progress) as bar:
                futures = [pool.submit(one, index) for index in range(len(requests))]
                # The bar moves as answers arrive, not in input order.
                for future in as_completed(futures):
                    future.result()
                    bar.update(1)
        finally:
            # An interrupt (a notebook's stop button) drops the queued requests at once
            # instead of waiting for all of them.
            pool.shutdown(wait=True, cancel_futures=True)
        return [r for r in results if r is not None]


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date; rare for APIs, fall back to our backoff


@dataclass
class Generation:
    """What :func:`answer_prompts` made.

    Attributes
    ----------
    responses
        The responses table (validated; empty when every request failed).
    failures
        One row per request that failed for good: ``model, prompt_id, error``.
    usage
        The client's :meth:`ModelClient.usage` after the run: requests, cache hits, retries,
        failures, tokens and cost (USD) per model.
    """

    responses: pd.DataFrame
    failures: pd.DataFrame
    usage: pd.DataFrame


def answer_prompts(
    prompts: pd.DataFrame | Sequence[Mapping[str, Any]],
    models: str | Sequence[str],
    *,
    client: ModelClient | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    use_cache: bool = True,
    progress: bool = True,
    message_builder: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None,
) -> Generation:
    """Ask every model to answer every prompt; the answers, the failures and what it cost.

    The parameters are :func:`generate`'s. A request that fails for good (after the client's
    retries) is a row of ``failures`` rather than an exception, so one bad model or prompt
    costs only its own answers.
    """
    import pandas as pd

    from .schema import columns, validate

    client = client or ModelClient()
    model_names = [models] if isinstance(models, str) else list(models)
    rows: list[Mapping[str, Any]] = (
        [{str(k): v for k, v in r.items()} for r in prompts.to_dict(orient="records")]
        if isinstance(prompts, pd.DataFrame)
        else list(prompts)
    )
    requests: list[tuple[str, list[dict[str, Any]]]] = []
    keys: list[tuple[str, str]] = []
    for row in rows:
        prompt_id = row.get("prompt_id") or row.get("uid")
        if not prompt_id or not isinstance(row.get("instruction"), str):
            raise ModelError(
                f"a prompt without prompt_id or instruction: {str(row)[:120]}. Fix: give a "
                "prompts table (arena_kit.schema.columns('prompts'))"
            )
        if message_builder is not None:
            conversation = message_builder(row)
        else:
            conversation = [{"role": "user", "content": row["instruction"]}]
            if system_prompt:
                conversation.insert(0, {"role": "system", "content": system_prompt})
        for model in model_names:
            requests.append((model, conversation))
            keys.append((str(prompt_id), model))
    completions = client.complete_many(
        requests, use_cache=use_cache, progress=progress, description="generate"
    )
    records = []
    failures = []
    for (prompt_id, model), (_, conversation), completion in zip(
        keys, requests, completions, strict=True
    ):
        if not completion.ok:
            failures.append({"model": model, "prompt_id": prompt_id, "error": completion.error})
            continue
        messages = [*conversation, {"role": "assistant", "content": completion.text}]
        records.append(
            {
                "response_id": "r" + content_id(prompt_id, model, messages, length=15),
                "prompt_id": prompt_id,
                "model": model,
                "turn": 1,
                "messages": messages,
                "execution_id": None,
            }
        )
    responses = (
        validate(pd.DataFrame(records), "responses", source="generate()")
        if records
        else pd.DataFrame(columns=[c.name for c in columns("responses")])
    )
    return Generation(
        responses=responses,
        failures=pd.DataFrame(failures, columns=["model", "prompt_id", "error"]),
        usage=client.usage(),
    )


def generate(
    prompts: pd.DataFrame | Sequence[Mapping[str, Any]],
    models: str | Sequence[str],
    *,
    client: ModelClient | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    use_cache: bool = True,
    progress: bool = True,
    on_error: str = "warn",
    message_builder: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None,
) -> pd.DataFrame:
    """Ask every model to answer every prompt; the responses table (one turn each).

    Parameters
    ----------
    prompts
        A prompts table (``prompt_id``, ``instruction``; the AutoCodeArena file's ``uid`` is
        accepted for ``prompt_id``).
    models
        Model names (keys of the configuration's ``models``, or names the server knows).
    client
        The :class:`ModelClient`; default: one with the default configuration.
    system_prompt
        Sent first in every conversation and kept in ``messages``; ``None`` sends none.
        The default tells the model which sandboxes exist (:data:`DEFAULT_SYSTEM_PROMPT`).
    on_error
        ``"warn"``: failed requests are left out of the table with one warning that counts
        them; ``"raise"``: the first failure raises :class:`ModelError`. (To list every
        failure, and the cost, use :func:`answer_prompts`.)
    message_builder
        Optional ``row -> messages`` to replace the default ``[system, user]`` pair.

    Returns
    -------
    DataFrame
        The responses table (validated): ``response_id`` is a content hash of
        (prompt, model, messages), ``turn`` is 1, ``messages`` ends with the answer.
    """
    if on_error not in ("warn", "raise"):
        raise ModelError(f"on_error must be 'warn' or 'raise' (got {on_error!r})")
    made = answer_prompts(
        prompts,
        models,
        client=client,
        system_prompt=system_prompt,
        use_cache=use_cache,
        progress=progress,
        message_builder=message_builder,
    )
    failures = [f"{f.model}/{f.prompt_id}: {f.error}" for f in made.failures.itertuples()]
    if failures and on_error == "raise":
        first = made.failures.iloc[0]
        raise ModelError(f"{first['model']} on prompt {first['prompt_id']}: {first['error']}")
    if failures:
        total = len(failures) + len(made.responses)
        warnings.warn(
            f"{len(failures)} of {total} request(s) failed and were left out; first: {failures[0]}",
            RuntimeWarning,
            stacklevel=2,
        )
    if made.responses.empty:
        raise ModelError(
            f"every request failed ({len(failures)}); first: {failures[0] if failures else '-'}"
        )
    return made.responses
