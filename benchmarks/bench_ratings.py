"""Speed, accuracy and memory of arena_kit.ratings against other implementations.

Usage::

    .venv/bin/python benchmarks/bench_ratings.py            # the three cases + (t), ~5-10 min
    .venv/bin/python benchmarks/bench_ratings.py --quick    # case (a) only, fewer repeats
    .venv/bin/python benchmarks/bench_ratings.py --cases bt # (b) and the trust figures
    .venv/bin/python benchmarks/bench_ratings.py --json out.json

Cases: (a) 10 models / 5,000 votes, (b) 50 models / 1,000,000 votes, (c) 200 models /
1,000,000 votes; (t) the leaderboards-you-can-trust figures on case (b)'s votes with 8 controls
(5 continuous style differences, 3 execution differences in {-1, 0, 1}, computed before the
clock starts), a display side and 100 annotators: the plain point fit + 100 rounds again, the
controlled point fit + 100 score-bootstrap rounds, the same clustered by annotator, and the
audit with 100 rounds and leave-one-out refits for the 100 annotators. Every timing of (a)-(c)
is "point fit + 100 bootstrap rounds, starting from the votes DataFrame" (aggregation
included), the median of several runs in this one process, as wall
time and as CPU time of the process (the better measure when other jobs load the machine;
arena_kit's fit runs on one thread).

Compared (benchmark-only extras, skipped with a note when not installed: ``pip install
'.[bench]'``):

* ``fastchat-style``: written here after FastChat's ``compute_mle_elo`` idea (pandas pivot
  tables of wins and ties, scikit-learn logistic regression, ``tol=1e-6``), bootstrap by
  resampling rows and refitting. On 1M rows it is timed on a few rounds and extrapolated
  (said so in the output).
* ``evalica``: ``evalica.bradley_terry`` (Rust solver) for the point fit;
  ``evalica.bootstrap(..., bootstrap_method="percentile")`` for the intervals (timed on a few
  resamples and extrapolated on 1M rows).
* ``choix``: ``choix.ilsr_pairwise_dense`` on a matrix of half-win counts built with numpy;
  bootstrap by resampling rows (extrapolated from a few rounds on 1M rows).

Accuracy: the largest rating difference (Elo points, both centred at 1000) from arena_kit's
fit, which matches an independent scipy MLE to 1e-6 (tests/test_ratings.py).

Memory: peak RSS of a fresh subprocess during ``fit_bradley_terry(votes, n_bootstrap=100)``
minus its RSS right before (data loaded, modules imported; the kernel's peak counter is reset
through ``/proc/self/clear_refs``), against ``votes.memory_usage(deep=True)``.

The synthetic votes are built here (not with ``arena_kit.simulate``, which stops at 16 models
and validates row by row): uniform random pairs, true ratings ~ N(1000, 150²), 20 % draws of
which 35 % both-bad, expected score of a draw-as-half equal to the Bradley-Terry probability.
Text columns are object dtype, as ``arena_kit.schema.validate`` returns them.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

CASES = {"a": (10, 5_000), "b": (50, 1_000_000), "c": (200, 1_000_000)}
ELO = 400.0 / math.log(10.0)


def make_votes(n_models: int, n_votes: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic votes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"model-{k:03d}" for k in range(n_models)], dtype=object)
    truth = rng.normal(0.0, 150.0, n_models)
    a = rng.integers(0, n_models, n_votes)
    b = (a + rng.integers(1, n_models, n_votes)) % n_models
    p = 1.0 / (1.0 + 10.0 ** ((truth[b] - truth[a]) / 400.0))
    draw = rng.random(n_votes) < 0.2
    # q keeps the expected score (draw = 1/2) at p; clip where p is too extreme for 20 % draws.
    q = np.clip((p - 0.1) / 0.8, 0.0, 1.0)
    a_wins = rng.random(n_votes) < q
    both_bad = rng.random(n_votes) < 0.35
    winner = np.where(
        draw, np.where(both_bad, "both_bad", "tie"), np.where(a_wins, "model_a", "model_b")
    )
    return pd.DataFrame(
        {"model_a": names[a], "model_b": names[b], "winner": winner.astype(object)}
    ).astype(object)


def centred(values: pd.Series) -> pd.Series:
    return values - values.mean() + 1000.0


def stamp() -> np.ndarray:
    """Wall-clock and CPU time of this process, as one array: differences give both."""
    return np.array([time.perf_counter(), time.process_time()])


def timed(fn: Callable[[], Any], repeats: int) -> tuple[np.ndarray, Any]:
    """Median ``[wall, cpu]`` seconds of ``repeats`` calls and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        gc.collect()
        start = stamp()
        result = fn()
        times.append(stamp() - start)
    return np.median(np.array(times), axis=0), result


# ---------------------------------------------------------------------------------------------
# The FastChat-style reference (written here; pivot tables + sklearn, bootstrap over rows).


def fastchat_style_fit(df: pd.DataFrame) -> pd.Series:
    from sklearn.linear_model import LogisticRegression

    def pivot(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.pivot_table(
            rows.assign(n=1), index="model_a", columns="model_b", values="n",
            aggfunc="sum", fill_value=0,
        )  # fmt: skip

    draws = df["winner"].isin(["tie", "both_bad"])
    wins_a = pivot(df[df["winner"] == "model_a"])
    wins_b = pivot(df[df["winner"] == "model_b"])
    ties = pivot(df[draws])
    models = sorted(set(df["model_a"]) | set(df["model_b"]))
    full = pd.DataFrame(0.0, index=models, columns=models)
    ties = full.add(ties, fill_value=0)
    ties = ties + ties.T
    # Doubled so that a tie is one win for each side out of two "games".
    wins = full.add(wins_a * 2, fill_value=0).add(wins_b.T * 2, fill_value=0) + ties
    index = {m: k for k, m in enumerate(models)}
    rows, labels, weights = [], [], []
    for ma in models:
        for mb in models:
            if ma >= mb:
                continue
            x = np.zeros(len(models))
            x[index[ma]], x[index[mb]] = math.log(10.0), -math.log(10.0)
            for label, weight in ((1.0, wins.loc[ma, mb]), (0.0, wins.loc[mb, ma])):
                if weight > 0:
                    rows.append(x)
                    labels.append(label)
                    weights.append(weight)
    model = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-6)
    model.fit(np.array(rows), np.array(labels), sample_weight=np.array(weights))
    return pd.Series(400.0 * model.coef_[0] + 1000.0, index=models)


def fastchat_style_bootstrap_round(df: pd.DataFrame, seed: int) -> pd.Series:
    return fastchat_style_fit(df.sample(frac=1.0, replace=True, random_state=seed))


# ---------------------------------------------------------------------------------------------
# evalica and choix.


def evalica_inputs(df: pd.DataFrame) -> tuple[Any, Any, list[Any]]:
    import evalica

    table = {
        "model_a": evalica.Winner.X,
        "model_b": evalica.Winner.Y,
        "tie": evalica.Winner.Draw,
        "both_bad": evalica.Winner.Draw,
    }
    return df["model_a"].to_numpy(), df["model_b"].to_numpy(), df["winner"].map(table).tolist()


def evalica_fit(df: pd.DataFrame) -> pd.Series:
    import evalica

    xs, ys, winners = evalica_inputs(df)
    scores = evalica.bradley_terry(xs, ys, winners, tolerance=1e-10, limit=10_000).scores
    return pd.Series(ELO * np.log(scores.to_numpy()), index=scores.index.astype(object))


def evalica_bootstrap(df: pd.DataFrame, n_resamples: int) -> Any:
    import evalica

    xs, ys, winners = evalica_inputs(df)
    return evalica.bootstrap(
        evalica.bradley_terry, xs, ys, winners,
        n_resamples=n_resamples, bootstrap_method="percentile", random_state=0,
    )  # fmt: skip


def choix_codes(df: pd.DataFrame) -> tuple[list[str], Any, Any, Any]:
    models = sorted(set(df["model_a"]) | set(df["model_b"]))
    index = {m: k for k, m in enumerate(models)}
    a = df["model_a"].map(index).to_numpy()
    b = df["model_b"].map(index).to_numpy()
    score = df["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "both_bad": 0.5})
    return models, a, b, score.to_numpy()


def choix_fit_codes(models: list[str], a: Any, b: Any, s: Any) -> pd.Series:
    import choix

    n = len(models)
    wins = np.bincount(a * n + b, weights=s, minlength=n * n) + np.bincount(
        b * n + a, weights=1.0 - s, minlength=n * n
    )
    params = choix.ilsr_pairwise_dense(wins.reshape(n, n), tol=1e-12, max_iter=10_000)
    return pd.Series(ELO * params, index=models)


def choix_fit(df: pd.DataFrame) -> pd.Series:
    return choix_fit_codes(*choix_codes(df))


def choix_bootstrap_round(df: pd.DataFrame, seed: int) -> pd.Series:
    models, a, b, s = choix_codes(df)
    take = np.random.default_rng(seed).integers(0, len(df), len(df))
    return choix_fit_codes(models, a[take], b[take], s[take])


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------


def memory_probe(case: str) -> dict[str, float]:
    """Run in a fresh interpreter: peak RSS increase of one fit, against the input's size."""
    code = f"""
import gc, json, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import numpy, pandas, scipy.sparse, scipy.special, scipy.sparse.csgraph
from bench_ratings import make_votes, CASES
from arena_kit.ratings import fit_bradley_terry
fit_bradley_terry(make_votes(5, 200), n_bootstrap=2)  # import everything the fit touches
votes = make_votes(*CASES[{case!r}])
gc.collect()
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak-RSS counter (VmHWM) to the current RSS
fit_bradley_terry(votes, n_bootstrap=100)
peak = status("VmHWM")
print(json.dumps({{"input_bytes": int(votes.memory_usage(deep=True).sum()),
                  "peak_increase_bytes": peak - before}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    data["ratio"] = data["peak_increase_bytes"] / data["input_bytes"]
    return data


def run_case(case: str, repeats: int, extra_rounds: int) -> dict[str, Any]:
    import warnings

    from arena_kit.ratings import fit_bradley_terry

    n_models, n_votes = CASES[case]
    votes = make_votes(n_models, n_votes, seed=1)
    big = n_votes >= 100_000
    report: dict[str, Any] = {"case": case, "n_models": n_models, "n_votes": n_votes}
    fit_bradley_terry(votes.head(2000), n_bootstrap=5)  # warm imports

    t_point, point = timed(lambda: fit_bradley_terry(votes, n_bootstrap=0), repeats)
    t_full, full = timed(lambda: fit_bradley_terry(votes, n_bootstrap=100, seed=0), repeats)
    ours = centred(point.ratings)
    report["arena_kit"] = {"point_s": t_point, "point_plus_100_s": t_full}
    if case == "b":
        t_1000, _ = timed(lambda: fit_bradley_terry(votes, n_bootstrap=1000, seed=0), repeats)
        report["arena_kit"]["point_plus_1000_s"] = t_1000
        t_sandwich, _ = timed(
            lambda: fit_bradley_terry(votes, n_bootstrap=0, ci="sandwich"), repeats
        )
        report["arena_kit"]["sandwich_only_s"] = t_sandwich
        from arena_kit.ratings._counts import count_votes

        t_agg, _ = timed(lambda: count_votes(votes), repeats)
        report["arena_kit"]["aggregation_s"] = t_agg

    others: dict[str, Any] = {}
    rounds = 3 if big else 100
    if available("sklearn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_fit, fc = timed(lambda: fastchat_style_fit(votes), 1 if big else repeats)
            start = stamp()
            for r in range(rounds):
                fastchat_style_bootstrap_round(votes, r)
            per_round = (stamp() - start) / rounds
        others["fastchat-style"] = {
            "point_s": t_fit,
            "point_plus_100_s": t_fit + 100 * per_round,
            "extrapolated_from_rounds": rounds if big else None,
            "max_abs_diff_elo": float((centred(fc) - ours.reindex(fc.index)).abs().max()),
        }
    else:
        print("  (scikit-learn not installed: FastChat-style skipped)")
    if available("evalica"):
        t_fit, ev = timed(lambda: evalica_fit(votes), 1 if big else repeats)
        resamples = 3 if big else 100
        start = stamp()
        evalica_bootstrap(votes, resamples)
        t_boot = (stamp() - start) * (100 / resamples)
        others["evalica"] = {
            "point_s": t_fit,
            "point_plus_100_s": t_fit + t_boot,
            "extrapolated_from_rounds": resamples if big else None,
            "max_abs_diff_elo": float((centred(ev) - ours.reindex(ev.index)).abs().max()),
        }
    else:
        print("  (evalica not installed: skipped)")
    if available("choix"):
        t_fit, ch = timed(lambda: choix_fit(votes), 1 if big else repeats)
        start = stamp()
        for r in range(rounds):
            choix_bootstrap_round(votes, r)
        per_round = (stamp() - start) / rounds
        others["choix"] = {
            "point_s": t_fit,
            "point_plus_100_s": t_fit + 100 * per_round,
            "extrapolated_from_rounds": rounds if big else None,
            "max_abs_diff_elo": float((centred(ch) - ours.reindex(ch.index)).abs().max()),
        }
    else:
        print("  (choix not installed: skipped)")
    for entry in others.values():
        entry["ratio_vs_arena_kit"] = entry["point_plus_100_s"] / t_full
    report["others"] = others
    report["arena_kit"]["n_bootstrap_prior_rounds"] = full.n_bootstrap_prior
    if case in ("b", "c"):
        report["memory"] = memory_probe(case)
    return report


CONTROLS = ["length", "headers", "lists", "bold", "code_blocks", "ran_ok", "visual", "timeout"]


def trust_votes(seed: int = 1) -> pd.DataFrame:
    """Case (b)'s votes with precomputed controls, a display side and 100 annotators."""
    votes = make_votes(*CASES["b"], seed=seed)
    rng = np.random.default_rng(seed + 100)
    for name in CONTROLS[:5]:
        votes[name] = rng.uniform(-1.0, 1.0, len(votes))
    for name in CONTROLS[5:]:
        votes[name] = rng.integers(-1, 2, len(votes)).astype(float)
    votes["swapped"] = rng.random(len(votes)) < 0.5
    names = np.array([f"annotator-{k:03d}" for k in range(100)], dtype=object)
    votes["annotator"] = names[rng.integers(0, 100, len(votes))]
    return votes


def run_trust(repeats: int) -> dict[str, Any]:
    from arena_kit.ratings import audit, fit_bradley_terry

    votes = trust_votes()
    fit_bradley_terry(votes.head(2000), controls=CONTROLS, n_bootstrap=5)  # warm imports
    audit(votes.head(5000))
    report: dict[str, Any] = {"case": "t", "n_models": 50, "n_votes": len(votes)}
    report["plain_point_plus_100_s"], _ = timed(
        lambda: fit_bradley_terry(votes, n_bootstrap=100, seed=0), repeats
    )
    report["controlled_point_plus_100_s"], result = timed(
        lambda: fit_bradley_terry(votes, controls=CONTROLS, n_bootstrap=100, seed=0), repeats
    )
    report["controlled_clustered_s"], _ = timed(
        lambda: fit_bradley_terry(
            votes, controls=CONTROLS, n_bootstrap=100, seed=0, cluster="annotator"
        ),
        repeats,
    )
    report["audit_100_rounds_100_annotators_s"], table = timed(
        lambda: audit(votes, n_bootstrap=100), repeats
    )
    report["fired"] = [str(p) for p in table.loc[table["fired"], "probe"]]
    report["max_abs_control"] = float(result.controls["coefficient"].abs().max())
    return report


def print_trust(report: dict[str, Any]) -> None:
    print(f"\n### (t) 50 models / {report['n_votes']:,} votes, 8 controls, 100 annotators\n")
    print("| what | wall / CPU s | goal |")
    print("|---|---|---|")
    rows = [
        ("plain point fit + 100 bootstrap rounds", "plain_point_plus_100_s", "≤ 0.3"),
        ("controlled point fit + 100 score-bootstrap rounds", "controlled_point_plus_100_s",
         "≤ 1"),
        ("… clustered by annotator", "controlled_clustered_s", "—"),
        ("audit, 100 rounds, 100 annotators left out in turn",
         "audit_100_rounds_100_annotators_s", "≤ 3"),
    ]  # fmt: skip
    for label, key, goal in rows:
        print(f"| {label} | {_fmt(report[key])} | {goal} |")
    print(
        f"\nprobes fired on these synthetic votes: {', '.join(report['fired']) or 'none'} "
        f"(no control has an effect here: largest coefficient {report['max_abs_control']:.2f} "
        "Elo)"
    )


def _fmt(pair: Any, digits: int = 3) -> str:
    wall, cpu = pair
    return f"{wall:.{digits}f} / {cpu:.{digits}f}"


def print_report(report: dict[str, Any]) -> None:
    ours = report["arena_kit"]
    print(f"\n### ({report['case']}) {report['n_models']} models / {report['n_votes']:,} votes\n")
    print("Times are wall / CPU seconds; ratios are the other's time over arena_kit's.\n")
    print(
        "| implementation | point fit (s) | point + 100 bootstrap (s) | ratio wall / CPU "
        "| max Δ Elo |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| arena_kit | {_fmt(ours['point_s'])} | {_fmt(ours['point_plus_100_s'])} | 1 | 0 (ref.) |"
    )
    for name, entry in report["others"].items():
        note = (
            f" (extrapolated from {entry['extrapolated_from_rounds']} rounds)"
            if entry["extrapolated_from_rounds"]
            else ""
        )
        ratio = entry["ratio_vs_arena_kit"]
        print(
            f"| {name} | {_fmt(entry['point_s'])} | {_fmt(entry['point_plus_100_s'], 2)}{note} | "
            f"{ratio[0]:.0f}x / {ratio[1]:.0f}x | {entry['max_abs_diff_elo']:.2g} |"
        )
    if "point_plus_1000_s" in ours:
        print(
            f"\narena_kit on ({report['case']}), wall / CPU s: aggregation of the DataFrame "
            f"{_fmt(ours['aggregation_s'])}; point + 1000 bootstrap rounds "
            f"{_fmt(ours['point_plus_1000_s'])}; point + sandwich only "
            f"{_fmt(ours['sandwich_only_s'])}"
        )
    if "memory" in report:
        m = report["memory"]
        print(
            f"peak memory of the fit: {m['peak_increase_bytes'] / 2**20:.1f} MiB over "
            f"{m['input_bytes'] / 2**20:.1f} MiB of input = {m['ratio']:.2f}x the input"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="case (a) only, 3 repeats")
    parser.add_argument("--cases", default="abct", help="which cases, e.g. 'ab' or 'bt'")
    parser.add_argument("--repeats", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    cases = "a" if args.quick else args.cases
    repeats = 3 if args.quick else args.repeats
    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} at start; python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )
    print(
        f"medians of {repeats} runs; every figure from this one process. CPU time is given "
        "next to wall time: on a busy machine it is the better measure of the work done"
    )
    reports = []
    for case in cases:
        if case == "t":
            report = run_trust(repeats)
            print_trust(report)
        else:
            report = run_case(case, repeats, 3)
            print_report(report)
        reports.append(report)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"load_start": load, "times": "[wall, cpu] seconds", "reports": reports},
                handle,
                indent=2,
                default=lambda value: value.tolist(),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
