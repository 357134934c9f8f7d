"""Bundled sample answers, one or more per visual environment, some broken on purpose.

``run_samples()`` runs them all end to end (``make demo`` shows the table); each must end in
its expected status.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WebSample", "web_samples", "run_samples", "samples_summary", "SAMPLES_DIR"]

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

# file stem → (environment, expected status)
_CATALOGUE: dict[str, tuple[str, str]] = {
    "html_chart": ("html", "ok"),
    "html_blank": ("html", "blank_render"),
    "html_page_error": ("html", "runtime_error"),
    "js_canvas": ("javascript", "ok"),
    "react_counter": ("react", "ok"),
    "react_syntax_error": ("react", "build_error"),
    "react_missing_package": ("react", "missing_dependency"),
    "vue_todo": ("vue", "ok"),
    "mermaid_flow": ("mermaid", "ok"),
    "mermaid_broken": ("mermaid", "build_error"),
    "markdown_notes": ("markdown", "ok"),
    "python_figure": ("python", "ok"),
    "pygame_bounce": ("pygame", "ok"),
    "pygame_black": ("pygame", "blank_render"),
    "pygame_crash": ("pygame", "runtime_error"),
    "streamlit_dashboard": ("streamlit", "ok"),
    "streamlit_crash": ("streamlit", "runtime_error"),
    "streamlit_missing_module": ("streamlit", "missing_dependency"),
    "gradio_greeter": ("gradio", "ok"),
    "streamlit_syntax_error": ("streamlit", "build_error"),
    "flask_todo": ("server", "ok"),
    "express_hello": ("server", "ok"),
    "python_truncated": ("python", "build_error"),
}


@dataclass(frozen=True)
class WebSample:
    """One bundled answer (markdown) and how it must end."""

    name: str
    environment: str
    expected: str
    markdown: str


def web_samples(environments: tuple[str, ...] | None = None) -> list[WebSample]:
    """The bundled samples (optionally only those of some environments), in catalogue order."""
    return [
        WebSample(name, env, expected, (SAMPLES_DIR / f"{name}.md").read_text("utf-8"))
        for name, (env, expected) in _CATALOGUE.items()
        if environments is None or env in environments
    ]


def run_samples(
    environments: tuple[str, ...] | None = None, *, progress: bool = True, **options: Any
) -> pd.DataFrame:
    """Run every sample end to end (detection included); one row each.

    Columns: ``sample, environment, detected, expected, status, ok, message, wall_s,
    screenshot``. ``ok`` is True when the sample ended in its expected status.
    """
    import pandas as pd

    from ..extract import detect_environment
    from .execute import execute_response

    chosen = web_samples(environments)
    rows = []
    iterator: Any = chosen
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(chosen, desc="visual samples", unit="sample")
    for sample in iterator:
        detected, _ = detect_environment(sample.markdown)
        result = execute_response(sample.markdown, **options)
        rows.append(
            {
                "sample": sample.name,
                "environment": sample.environment,
                "detected": detected,
                "expected": sample.expected,
                "status": result.status.value,
                "ok": result.status.value == sample.expected and detected == sample.environment,
                "message": result.message,
                "wall_s": result.wall_s,
                "screenshot": result.screenshot,
            }
        )
    return pd.DataFrame(rows)


def samples_summary(table: pd.DataFrame | None = None) -> str:
    """The visual samples run end to end, as a markdown table (for ``make demo``)."""
    if table is None:
        table = run_samples(progress=False)
    lines = [
        "## Visual environments: bundled answers, rendered offline",
        "",
        "| sample | environment | expected | status | time | message |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        mark = "" if row["ok"] else " ⚠️"
        seconds = f"{row['wall_s']:.1f} s" if row["wall_s"] is not None else ""
        message = str(row["message"]).replace("|", "/")[:70]
        lines.append(
            f"| {row['sample']} | {row['environment']} | {row['expected']} | "
            f"{row['status']}{mark} | {seconds} | {message} |"
        )
    ok = int(table["ok"].sum())
    lines += ["", f"{ok}/{len(table)} samples ended as expected."]
    return "\n".join(lines) + "\n"
