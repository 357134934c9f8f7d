"""The Docker backend (filled in below)."""

from __future__ import annotations

from .backend import Backend, Job, register_backend
from .result import ExecutionResult

__all__ = ["DockerBackend"]


@register_backend
class DockerBackend(Backend):
    """Runs jobs in containers of the runtime image built from ``docker/``."""

    name = "docker"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return "not implemented yet"

    def execute(self, job: Job) -> ExecutionResult:  # pragma: no cover
        raise NotImplementedError
