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


def sandbox_summary() -> str:
    """The bundled code samples in all 8 languages, run in the sandbox: a markdown table."""
    from .sandbox import run_samples

    table = run_samples(progress=False)
    lines = [
        "## The sandbox: bundled samples in 8 languages",
        "",
        "| sample | language | expected | status | message |",
        "|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        mark = "" if row["status"] == row["expected"] else " ⚠️"
        lines.append(
            f"| {row['name']} | {row['language']} | {row['expected']} | {row['status']}{mark} | "
            f"{str(row['message'])[:70]} |"
        )
    return "\n".join(lines) + "\n"


def run_demo(out_dir: Path = REPORT_DIR) -> int:
    """Run the demo and print where its result is. Returns a process exit code.

    1. validate and summarise the bundled data;
    2. run the sandbox's bundled samples (8 languages) and the visual environments' bundled
       answers (pages, React, Vue, Mermaid, Markdown, Streamlit, Gradio, PyGame);
    3. the report: execute the real battles' answers (cached), analyse the bundled
       **simulated** votes, fit rankings, write ``reports/demo/report.html``.
    """
    from .datasets import DATA_DIR, battle_responses, write_table
    from .io import atomic_path
    from .report import run as run_report

    started = time.perf_counter()
    summary = data_summary()
    print(summary)
    sandbox = sandbox_summary()
    print(sandbox)
    from .web.samples import samples_summary

    visual = samples_summary()
    print(visual)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir.parent / "demo-summary.md") as temporary:
        temporary.write_text("\n".join([summary, sandbox, visual]), encoding="utf-8")
    responses = write_table(
        battle_responses(), out_dir.parent / "demo-inputs" / "battle-responses.parquet", "responses"
    )
    html = run_report(
        DATA_DIR / "simulated" / "simulated-votes.jsonl",
        out_dir,
        responses=responses,
        judges=True,
        parameters={"wall_s": 5},
    )
    elapsed = time.perf_counter() - started
    print(f"demo finished in {elapsed:.1f} s")
    print(f"summary: {(out_dir.parent / 'demo-summary.md').resolve()}")
    print(f"result: {html}")
    return 0
