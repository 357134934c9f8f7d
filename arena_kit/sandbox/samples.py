"""Bundled code samples: one working program per language and a few broken ones.

``run_samples()`` runs them all and returns a small table of statuses (``make demo`` shows
it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Sample", "samples", "run_samples"]

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

# file name → (language, status it should end with)
_CATALOGUE: dict[str, tuple[str, str]] = {
    "hello.py": ("python", "ok"),
    "hello.js": ("javascript", "ok"),
    "hello.ts": ("typescript", "ok"),
    "hello.c": ("c", "ok"),
    "hello.cpp": ("cpp", "ok"),
    "Greeter.java": ("java", "ok"),
    "hello.go": ("go", "ok"),
    "hello.rs": ("rust", "ok"),
    "figure.py": ("python", "ok"),
    "broken_syntax.py": ("python", "build_error"),
    "crash.js": ("javascript", "runtime_error"),
    "type_error.c": ("c", "build_error"),
    "spin.py": ("python", "timeout"),
}


@dataclass(frozen=True)
class Sample:
    """One bundled program and the status it is expected to end with."""

    name: str
    language: str
    code: str
    expected: str


def samples() -> list[Sample]:
    """The bundled samples, in catalogue order."""
    return [
        Sample(name, language, (SAMPLES_DIR / f"{name}.txt").read_text("utf-8"), expected)
        for name, (language, expected) in _CATALOGUE.items()
    ]


def run_samples(
    backend: str | None = None, progress: bool = False, refresh: bool = False, **run_args: Any
) -> pd.DataFrame:
    """Run every sample; one row each: name, language, expected, status, message, wall_s.

    The spinning sample gets a 2-second wall clock so that the table comes back quickly.
    """
    import pandas as pd

    from .api import run_many

    chosen = samples()
    jobs = [
        {
            "code": s.code,
            "language": s.language,
            "backend": backend,
            "refresh": refresh,
            **({"limits": {"wall_s": 2, "cpu_s": 2}} if s.expected == "timeout" else {}),
            **run_args,
        }
        for s in chosen
    ]
    results = run_many(jobs, progress=progress)
    return pd.DataFrame(
        {
            "name": [s.name for s in chosen],
            "language": [s.language for s in chosen],
            "expected": [s.expected for s in chosen],
            "status": [r.status.value for r in results],
            "message": [r.message for r in results],
            "wall_s": [r.wall_s for r in results],
            "artifacts": [len(r.artifacts) for r in results],
        }
    )
