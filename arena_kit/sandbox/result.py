"""The result of one sandboxed run, and how it shows itself in a notebook."""

from __future__ import annotations

import base64
import dataclasses
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import STATUS_COLORS, Execution, Status

__all__ = ["ExecutionResult", "STATUS_COLORS"]


_EXECUTION_FIELDS = tuple(f.name for f in dataclasses.fields(Execution))


@dataclass
class ExecutionResult:
    """How one piece of code behaved in the sandbox.

    Attributes
    ----------
    execution_id
        Content hash of code, environment, limits and runtime versions (the cache key).
    status
        Exactly one :class:`~arena_kit.schema.Status`.
    message
        One line a person understands (``"ok in 0.03 s"``,
        ``"runtime error: exit code 1: ValueError: bad value (main.py, line 4)"``).
    exit_code, signal
        How the program ended (``signal`` set when a signal killed it).
    stdout, stderr, truncated
        Outputs, each capped at ``Limits.output_bytes``; ``truncated`` when one was cut.
    build_log
        Compiler / transpiler output (empty for interpreted code that parsed).
    wall_s, cpu_s, peak_mb
        Wall-clock seconds of the program, CPU seconds of its whole process tree, peak
        memory in MB (None where not measurable).
    limits_enforced
        Names of the limits really applied (e.g. ``"memory:cgroup"``, ``"cpu:rlimit"``).
    artifacts
        Files the run produced: dicts with ``name``, ``path`` (on the host), ``size``,
        ``mime``.
    backend
        The backend that ran it (``bwrap``, ``docker``).
    cached
        True when this result came from the result cache instead of a fresh run.
    """

    execution_id: str
    code: str
    language: str | None
    environment: str
    status: Status
    message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    build_log: str = ""
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_mb: float | None = None
    limits_enforced: list[str] = field(default_factory=list)
    screenshot: str | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    backend: str = ""
    cached: bool = False

    @property
    def ok(self) -> bool:
        """True when the status is ``ok``."""
        return self.status is Status.OK

    def to_record(self) -> dict[str, Any]:
        """A row of the ``executions`` table (the fields of :class:`arena_kit.schema.Execution`)."""
        record = {name: getattr(self, name) for name in _EXECUTION_FIELDS}
        record["status"] = self.status.value
        record["limits_enforced"] = list(self.limits_enforced)
        record["artifacts"] = [dict(a) for a in self.artifacts]
        return record

    def to_dict(self) -> dict[str, Any]:
        """Every field (the record plus ``backend`` and ``cached``), JSON-ready."""
        data = self.to_record()
        data["backend"] = self.backend
        data["cached"] = self.cached
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionResult:
        """Rebuild a result from :meth:`to_dict` or :meth:`to_record` output."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = Status(values["status"])
        return cls(**values)

    def __repr__(self) -> str:
        return (
            f"ExecutionResult(status={self.status.value!r}, message={self.message!r}, "
            f"exit_code={self.exit_code!r}, execution_id={self.execution_id!r})"
        )

    def _repr_html_(self) -> str:
        color = STATUS_COLORS.get(self.status.value, "#57606a")
        badge = (
            f'<span style="background:{color};color:#fff;border-radius:4px;padding:1px 6px;'
            f'font-family:monospace">{html.escape(self.status.value)}</span>'
        )
        facts = [f"{html.escape(self.language or self.environment)}"]
        if self.wall_s is not None:
            facts.append(f"{self.wall_s:.2f} s")
        if self.peak_mb is not None:
            facts.append(f"{self.peak_mb:.0f} MB")
        if self.backend:
            facts.append(html.escape(self.backend) + (" (cached)" if self.cached else ""))
        parts = [
            f"<div>{badge} {html.escape(self.message)} "
            f'<span style="color:#57606a">{" · ".join(facts)}</span></div>'
        ]
        for title, text in (
            ("build log", self.build_log),
            ("stdout", self.stdout),
            ("stderr", self.stderr),
        ):
            if text:
                parts.append(
                    f"<details{' open' if title == 'stdout' else ''}><summary>{title}</summary>"
                    f'<pre style="max-height:20em;overflow:auto">{html.escape(text)}</pre>'
                    "</details>"
                )
        for artifact in self.artifacts:
            parts.append(_artifact_html(artifact))
        return "\n".join(parts)


def _artifact_html(artifact: dict[str, Any]) -> str:
    name = html.escape(str(artifact.get("name", "")))
    mime = str(artifact.get("mime", ""))
    path = Path(str(artifact.get("path", "")))
    if mime.startswith("image/") and path.is_file() and path.stat().st_size <= 5_000_000:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        image = f'<img src="data:{mime};base64,{data}"/>'
        return f"<figure>{image}<figcaption>{name}</figcaption></figure>"
    return f"<div>artifact: <code>{name}</code> ({artifact.get('size', '?')} bytes)</div>"
