"""How the bundled real battles' executions changed with a change to detection or messages.

    .venv/bin/python benchmarks/bench_rederive.py --before 0a04488 [--save]

``REV`` is a commit from before the change (issue 13's rules: ``0a04488``, the labelled set
committed before any rule). It is checked out into a temporary git worktree; each tree runs
every answer of the 484 bundled battles (``execution.execute_responses`` with the demo's 5 s
wall limit, results from each tree's own sandbox cache when it ran them before) and records
each answer's environment, status and message. The two are compared battle by battle with
:func:`arena_kit.demo.outcome_changes`: how many battles changed environment or status, and
the transitions behind it (``python → server``, ``timeout → build_error`` …).

``--save`` writes the older tree's outcomes to ``data/battles/outcomes-<REV>.jsonl``, the
baseline that ``make demo`` compares its own run with.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def _probe(out: Path) -> None:
    """Run in whichever tree PYTHONPATH puts first: every battle answer's outcome, as JSONL."""
    from arena_kit import execution
    from arena_kit.datasets import battle_responses

    executions, responses = execution.execute_responses(
        battle_responses(), limits={"wall_s": 5}, progress=True
    )
    by_id = executions.set_index("execution_id")
    with out.open("w", encoding="utf-8") as handle:
        for response_id, execution_id in zip(
            responses["response_id"], responses["execution_id"], strict=True
        ):
            row = {"response_id": str(response_id), "environment": None, "status": None,
                   "message": None}  # fmt: skip
            if isinstance(execution_id, str):
                run = by_id.loc[execution_id]
                row.update(environment=run["environment"], status=run["status"],
                           message=run["message"])  # fmt: skip
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _run_probe(tree: Path, out: Path) -> None:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, str(HERE), "--probe", str(out)], env=env, check=True, cwd=tree)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a commit from before the change")
    parser.add_argument("--save", action="store_true", help="keep the older outcomes in data/")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        _probe(Path(args.probe))
        return 0
    if not args.before:
        parser.error("--before REV is required")
    from arena_kit.demo import outcome_changes, read_outcomes

    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree),
                        args.before], check=True, capture_output=True)  # fmt: skip
        try:
            before_file, after_file = Path(tmp) / "before.jsonl", Path(tmp) / "after.jsonl"
            print(f"running the battles' answers in {args.before} …", flush=True)
            _run_probe(worktree, before_file)
            if args.save:
                target = ROOT / "data" / "battles" / f"outcomes-{args.before}.jsonl"
                target.write_text(before_file.read_text("utf-8"), encoding="utf-8")
                print(f"wrote {target}", flush=True)
            print("running them in this tree …", flush=True)
            _run_probe(ROOT, after_file)
            before, after = read_outcomes(before_file), read_outcomes(after_file)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(worktree)], check=False)  # fmt: skip
    print(outcome_changes(before, after, label=args.before))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
