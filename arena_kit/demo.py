"""``make demo``: the main job on the bundled data, ending with the path of its result.

Each stage prints one line as it finishes; the summary is written to ``reports/demo/``.
Stages are added as the workbench grows (sandbox runs, ratings, the report).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "run_demo",
    "data_summary",
    "read_outcomes",
    "outcome_changes",
    "BASELINE_REV",
    "DEMO_DATA",
]

BASELINE_REV = "0a04488"
"""The tree before issue 13's detection and message rules (its labelled set, no rule yet):
``data/battles/outcomes-<rev>.jsonl`` holds what it made of the real battles' answers
(``benchmarks/bench_rederive.py --before 0a04488 --save``)."""

Outcome = tuple[str | None, str | None, str | None]
"""An answer's ``(environment, status, message)``; all None when nothing in it runs."""

REPORT_DIR = Path("reports") / "demo"

DEMO_DATA: tuple[str, ...] = (
    "arena-hard-v0.1/question.jsonl",
    "battles/arena-hard-battles.jsonl",
    "simulated/simulated-votes.jsonl",
    "simulated/arena-hard-battle-votes.jsonl",
)
"""The files of the repository's ``data/`` the demo reads (not part of the package)."""

WITHOUT_THE_DEMO_DATA = """\
What the package gives without it: `arena-kit report` on your votes (and your answers, run in
the sandbox), the category classifier (`arena_kit.categories.classify`), the judges on your
battles, labeling sessions on your battles (`notebooks/02_label.ipynb`, `ArenaSession`), and
`arena-kit setup` for the sandbox's runtime. See the README, "Installing the package"."""


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


def read_outcomes(path: Path) -> dict[str, Outcome]:
    """Outcomes by response id from a JSONL file of ``response_id, environment, status,
    message`` rows (see ``benchmarks/bench_rederive.py``)."""
    found: dict[str, Outcome] = {}
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        found[str(row["response_id"])] = (row["environment"], row["status"], row["message"])
    return found


def current_outcomes(executions: pd.DataFrame, responses: pd.DataFrame) -> dict[str, Outcome]:
    """Outcomes by response id from an executions table and responses linked to it."""
    by_id = {row["execution_id"]: row for row in executions.to_dict("records")}
    found: dict[str, Outcome] = {}
    for response_id, execution_id in zip(
        responses["response_id"], responses["execution_id"], strict=True
    ):
        run = by_id.get(execution_id) if isinstance(execution_id, str) else None
        found[str(response_id)] = (
            (run["environment"], run["status"], run["message"]) if run else (None, None, None)
        )
    return found


def outcome_changes(
    before: dict[str, Outcome], after: dict[str, Outcome], *, label: str = BASELINE_REV
) -> str:
    """How many bundled battles changed environment or status between two sets of outcomes,
    and the transitions that explain it, as markdown."""
    from .datasets import bundled_battles

    battles = bundled_battles()
    missing = (None, None, None)
    changed_env = changed_status = changed_any = 0
    environments: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for a, b in zip(battles["response_a"], battles["response_b"], strict=True):
        env_moved = status_moved = False
        for response_id in (str(a), str(b)):
            old, new = before.get(response_id, missing), after.get(response_id, missing)
            if old[0] != new[0]:
                env_moved = True
                environments[f"{old[0]} → {new[0]}"] += 1
            if old[1] != new[1]:
                status_moved = True
                statuses[f"{old[1]} → {new[1]}"] += 1
        changed_env += env_moved
        changed_status += status_moved
        changed_any += env_moved or status_moved
    lines = [
        f"## The real battles, re-derived: what changed since `{label}`",
        "",
        f"**{changed_any} of {len(battles)}** battles changed environment or status "
        f"({changed_env} environment, {changed_status} status; an answer may change both).",
        "",
        "| answers whose environment changed | count |",
        "|---|---|",
        *[f"| {move} | {count} |" for move, count in environments.most_common()],
        "",
        "| answers whose status changed | count |",
        "|---|---|",
        *[f"| {move} | {count} |" for move, count in statuses.most_common()],
    ]
    return "\n".join(lines) + "\n"


def rederived_summary(executions: pd.DataFrame, responses: pd.DataFrame) -> str:
    """:func:`outcome_changes` between the committed baseline and this run's executions."""
    from .datasets import DATA_DIR

    baseline = DATA_DIR / "battles" / f"outcomes-{BASELINE_REV}.jsonl"
    if not baseline.is_file():
        return ""
    return outcome_changes(read_outcomes(baseline), current_outcomes(executions, responses))


def run_demo(out_dir: Path = REPORT_DIR) -> int:
    """Run the demo and print where its result is. Returns a process exit code.

    1. validate and summarise the bundled data;
    2. run the sandbox's bundled samples (8 languages) and the visual environments' bundled
       answers (pages, React, Vue, Mermaid, Markdown, Streamlit, Gradio, PyGame);
    3. the report: execute the real battles' answers (cached), analyse the bundled
       **simulated** votes, fit rankings, write ``reports/demo/report.html``;
    4. how the real battles' environments and statuses changed since the committed baseline
       (see :data:`BASELINE_REV`).
    """
    from .datasets import battle_responses, bundled_data, write_table
    from .errors import ArenaDataError
    from .io import atomic_path
    from .report import run as run_report

    try:
        for relative in DEMO_DATA:
            bundled_data(relative)
    except ArenaDataError as error:  # installed from a wheel: say where the data is, at once
        print(f"arena-kit demo: {error}\n\n{WITHOUT_THE_DEMO_DATA}", file=sys.stderr)
        return 1
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
        bundled_data("simulated/simulated-votes.jsonl"),
        out_dir,
        responses=responses,
        judges="bundled",
        parameters={"wall_s": 5},
    )
    # The report ran the battles' answers; the same runs again are cache hits.
    from .execution import execute_responses

    executions, linked = execute_responses(battle_responses(), limits={"wall_s": 5}, progress=False)
    changes = rederived_summary(executions, linked)
    if changes:
        print(changes)
        with atomic_path(out_dir.parent / "demo-summary.md") as temporary:
            temporary.write_text("\n".join([summary, sandbox, visual, changes]), encoding="utf-8")
    elapsed = time.perf_counter() - started
    print(f"demo finished in {elapsed:.1f} s")
    print(f"summary: {(out_dir.parent / 'demo-summary.md').resolve()}")
    print(f"result: {html}")
    return 0
