"""Shared helpers of the sandbox tests: which backends can run here, and a fake secret."""

from __future__ import annotations

import os

import pytest

from arena_kit.sandbox import available_backends


def backends_here() -> list:
    """pytest params for each backend; unavailable ones skip with the reason (fail in CI)."""
    params = []
    reasons = available_backends()
    for name in ("bwrap", "docker"):
        reason = reasons.get(name)
        marks = []
        if reason is not None:
            if os.environ.get("CI") == "true" and name == "bwrap":
                marks.append(pytest.mark.xfail(reason=reason, strict=True, run=False))
            else:
                marks.append(pytest.mark.skip(reason=f"{name} unavailable: {reason}"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params
