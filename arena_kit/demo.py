"""``make demo``: the main job on the bundled data, ending with the path of its result.

Each stage prints one line as it finishes; the summary is written to ``reports/demo/``.
Stages are added as the workbench grows (sandbox runs, ratings, the report).
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_demo", "data_summary"]

REPORT_DIR = Path("reports") / "demo"


def data_summary() -> str:
    """A markdown summary of the bundled data (validated on the way)."""
    from .datasets import bundled_battles, bundled_prompts, bundled_responses, bundled_votes
    from .schema import CATEGORY_LABELS

    prompts = bundled_prompts()
    ah_prompts, responses = bundled_responses()
    battles = bundled_battles()
    votes = bundled_votes()
    lines = ["# arena-kit: the bundled data", ""]
    lines += [
        f"## AutoCodeArena-v0 prompts: {len(prompts)} real user requests",
        "",
        "| category | prompts | share |",
        "|---|---:|---:|",
    ]
    for category, count in prompts["category"].value_counts().items():
        lines.append(f"| {CATEGORY_LABELS[str(category)]} | {count} | {count / len(prompts):.1%} |")
    lines += [
        "",
        f"## Arena-Hard-Auto v0.1: {len(ah_prompts)} real prompts, "
        f"{len(responses)} real answers by {responses['model'].nunique()} models",
        "",
        f"Real battles with runnable code on both sides: **{len(battles)}** pairs "
        f"over {battles['prompt_id'].nunique()} prompts.",
        "",
        "| main language (side A) | battles |",
        "|---|---:|",
    ]
    for language, count in battles["lang_a"].value_counts().items():
        lines.append(f"| {language} | {count} |")
    winners = votes["winner"].value_counts(normalize=True)
    lines += [
        "",
        f"## SIMULATED votes: {len(votes)} votes (source = simulated, not real people)",
        "",
        f"{votes['model_a'].nunique()} simulated models, {votes['annotator'].nunique()} "
        f"simulated annotators, {votes['battle_id'].duplicated().sum()} battles judged twice.",
        "",
        "| outcome | share |",
        "|---|---:|",
        *[f"| {w} | {share:.1%} |" for w, share in winners.items()],
    ]
    return "\n".join(lines) + "\n"


def run_demo(out_dir: Path = REPORT_DIR) -> int:
    """Run the demo and print where its result is. Returns a process exit code."""
    from .io import atomic_path

    started = time.perf_counter()
    summary = data_summary()
    print(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "data-summary.md"
    with atomic_path(target) as temporary:
        temporary.write_text(summary, encoding="utf-8")
    elapsed = time.perf_counter() - started
    print(f"demo finished in {elapsed:.1f} s; result: {target.resolve()}")
    return 0
