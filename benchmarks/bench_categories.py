"""Measure the built-in prompt-category classifier (``arena_kit.categories``).

Two modes:

``--tune``
    Cross-validation on the *training* part of the fixed held-out split only, for every
    candidate setting: repeated stratified 5-fold (``--seeds``, 10 by default; each repetition's
    folds fixed by SHA-256 like the split, near-duplicate groups kept in one fold), reported as
    the mean ± standard deviation over the repetitions and as the paired difference from the
    first settings. ``--single`` runs the one 5-fold pass the first settings were chosen with.
    This is how the defaults of :class:`arena_kit.categories.Settings` were chosen. The held-out
    part is not read.

default
    The reported figures: train on the training part with the default settings (``--first``:
    the first settings, measured before the second round), score the held-out part (accuracy,
    macro-F1, per-category figures, confusion matrix), then time training on all 600 prompts
    and classifying 1,000 prompts. ``--markdown PATH`` also writes
    the figures as a Markdown file.

Run from the repository root::

    .venv/bin/python benchmarks/bench_categories.py --tune
    .venv/bin/python benchmarks/bench_categories.py --tune --single --only "first (v1)"
    .venv/bin/python benchmarks/bench_categories.py --markdown /tmp/categories.md
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import time
from pathlib import Path

from arena_kit import categories
from arena_kit.schema import CATEGORIES

FOLDS = 5
SEEDS = 10

FIRST = categories.Settings(lexicon_version=1, tech_weight=0.0)
"""The first settings (held-out 0.817): the first lexicon, no technology cues."""


def _first(**changes: object) -> categories.Settings:
    return dataclasses.replace(FIRST, **changes)  # type: ignore[arg-type]


CANDIDATES: dict[str, categories.Settings] = {
    # The second round (repeated CV): technology cues, the second lexicon.
    "default": categories.Settings(),
    "first (v1)": FIRST,
    "v1 + tech cues 0.3": _first(tech_weight=0.3),
    "v1 + tech cues 0.5": _first(tech_weight=0.5),
    "v1 + tech cues 0.7": _first(tech_weight=0.7),
    "v1 + tech cues 1.0": _first(tech_weight=1.0),
    "lexicon v2, no tech cues": categories.Settings(tech_weight=0.0),
    "default, C 0.5": categories.Settings(c=0.5),
    "default, C 2": categories.Settings(c=2.0),
    "default, unbalanced": categories.Settings(balanced=False),
    # The first round (one 5-fold pass), each a change to the first settings.
    "v1 no lexicon": _first(lexicon_weight=0.0),
    "v1 no head words": _first(head_chars=0),
    "v1 no lexicon, no head words": _first(lexicon_weight=0.0, head_chars=0),
    "v1 lexicon 0.3": _first(lexicon_weight=0.3),
    "v1 lexicon 1.0": _first(lexicon_weight=1.0),
    "v1 head 100": _first(head_chars=100),
    "v1 head 150": _first(head_chars=150),
    "v1 head 300": _first(head_chars=300),
    "v1 C 0.3": _first(c=0.3),
    "v1 C 0.5": _first(c=0.5),
    "v1 C 2": _first(c=2.0),
    "v1 unbalanced": _first(balanced=False),
    "v1 min_df 1": _first(min_df=1),
    "v1 char 1-4": _first(char_sizes=(1, 4)),
    "v1 char 3-6": _first(char_sizes=(3, 6)),
}


def _single_pass_folds(uids: list[str], labels: list[str]) -> list[int]:
    """The first round's folds: stratified, from SHA-256 ranks within each category."""
    fold = [0] * len(uids)
    for category in CATEGORIES:
        members = [i for i, label in enumerate(labels) if label == category]
        members.sort(key=lambda i: hashlib.sha256(f"cv\x00{uids[i]}".encode()).hexdigest())
        for rank, i in enumerate(members):
            fold[i] = rank % FOLDS
    return fold


def _folds(uids: list[str], texts: list[str], labels: list[str], seed: int) -> list[int]:
    """One repetition's folds: stratified, and near-duplicate groups kept in one fold.

    Within each category the prompts are ordered by SHA-256 of (seed, group, uid), as the
    held-out split orders them, and cut into five consecutive runs.
    """
    group = categories._near_duplicate_groups(uids, texts)
    fold = [0] * len(uids)
    for category in CATEGORIES:
        members = [i for i, label in enumerate(labels) if label == category]

        def key(text: str) -> str:
            return hashlib.sha256(f"cv-{seed}\x00{text}".encode()).hexdigest()

        members.sort(key=lambda i: (key(group[uids[i]]), key(uids[i])))
        for rank, i in enumerate(members):
            fold[i] = rank * FOLDS // len(members)
    return fold


def cross_validate(settings: categories.Settings, texts, labels, folds) -> categories.Evaluation:
    predictions = [""] * len(texts)
    for k in range(FOLDS):
        train = [i for i in range(len(texts)) if folds[i] != k]
        test = [i for i in range(len(texts)) if folds[i] == k]
        model = categories.CategoryClassifier(settings).fit(
            [texts[i] for i in train], [labels[i] for i in train]
        )
        for i, guess in zip(test, model.classify([texts[i] for i in test]), strict=True):
            predictions[i] = guess
    return categories.score(labels, predictions)


def calibrate(texts, labels, folds) -> None:
    """The temperature of ``predict_proba`` that minimises the out-of-fold log-loss."""
    import numpy as np

    scores = np.zeros((len(texts), len(CATEGORIES)))
    for k in range(FOLDS):
        train = [i for i in range(len(texts)) if folds[i] != k]
        test = [i for i in range(len(texts)) if folds[i] == k]
        model = categories.CategoryClassifier().fit(
            [texts[i] for i in train], [labels[i] for i in train]
        )
        scores[test] = model.decision_function([texts[i] for i in test])
    truth = np.array([CATEGORIES.index(label) for label in labels])
    print("temperature  log-loss")
    for temperature in (0.5, 1, 2, 3, 4, 5, 6, 8):
        z = scores * temperature
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        print(f"{temperature:11.1f} {-log_p[np.arange(len(truth)), truth].mean():9.3f}")


def tune(candidates: list[str] | None = None, seeds: int = SEEDS, single: bool = False) -> None:
    import numpy as np

    frame = categories.load_labelled()
    train, _ = categories.heldout_split(frame)
    part = frame.set_index("uid").loc[train]
    texts, labels = list(part["instruction"]), list(part["category"])
    if single:
        repetitions = [_single_pass_folds(train, labels)]
        print(f"one {FOLDS}-fold cross-validation pass on the {len(train)} training prompts")
    else:
        repetitions = [_folds(train, texts, labels, seed) for seed in range(seeds)]
        print(
            f"{FOLDS}-fold cross-validation repeated {seeds} times on the {len(train)} training "
            "prompts (mean ± standard deviation over the repetitions; paired difference from "
            "the first settings)"
        )
    print(f"{'setting':30s} {'accuracy':>15s} {'macro-F1':>15s} {'vs first':>16s}")
    first: np.ndarray | None = None
    names = [n for n in CANDIDATES if not candidates or n in candidates]
    if "first (v1)" in names:  # the reference of the paired differences comes first
        names.remove("first (v1)")
        names.insert(0, "first (v1)")
    for name in names:
        results = [cross_validate(CANDIDATES[name], texts, labels, f) for f in repetitions]
        accuracy = np.array([r.accuracy for r in results])
        f1 = np.array([r.macro_f1 for r in results])
        if name == "first (v1)":
            first = accuracy
        spread = (lambda v: v.std(ddof=1)) if len(results) > 1 else (lambda v: 0.0)
        line = (
            f"{name:30s} {accuracy.mean():.3f} ± {spread(accuracy):.3f}"
            f"   {f1.mean():.3f} ± {spread(f1):.3f}"
        )
        if first is not None and name != "first (v1)":
            d = accuracy - first
            line += f"   {d.mean():+.4f} ± {spread(d):.4f}"
        print(line, flush=True)
    calibrate(texts, labels, repetitions[0])


def naive_bayes_baseline(train_texts, train_labels, test_texts) -> list[str]:
    """A plain multinomial Naive Bayes on word counts (Laplace smoothing): the issue's baseline."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        CountVectorizer(token_pattern=categories._TOKEN_PATTERN), MultinomialNB(alpha=1.0)
    )
    return [str(c) for c in model.fit(train_texts, train_labels).predict(test_texts)]


def _markdown_table(frame) -> str:
    header = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in frame.iterrows():
        lines.append("| " + " | ".join([str(name), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)


def report(markdown: Path | None, settings: categories.Settings | None = None) -> None:
    frame = categories.load_labelled()
    train, test = categories.heldout_split(frame)
    result = categories.evaluate(settings=settings)
    print(f"settings: {settings or categories.Settings()}")
    print(f"held-out split: {len(train)} training prompts, {len(test)} held out")
    print(f"accuracy  {result.accuracy:.3f}  ({round(result.accuracy * result.n)}/{result.n})")
    print(f"macro-F1  {result.macro_f1:.3f}")
    print(result.per_category.round(3).to_string())
    print(result.confusion.to_string())

    by_uid = frame.set_index("uid")
    baseline = categories.score(
        list(by_uid.loc[test, "category"]),
        naive_bayes_baseline(
            list(by_uid.loc[train, "instruction"]),
            list(by_uid.loc[train, "category"]),
            list(by_uid.loc[test, "instruction"]),
        ),
    )
    print(
        f"baseline (multinomial Naive Bayes, same split): accuracy {baseline.accuracy:.3f}, "
        f"macro-F1 {baseline.macro_f1:.3f}"
    )

    texts = list(frame["instruction"])
    started, cpu = time.perf_counter(), time.process_time()
    model = categories.CategoryClassifier(settings).fit(texts, list(frame["category"]))
    fit_s, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    batch = (texts * 2)[:1000]
    model.classify(batch[:10])  # the first call imports and warms up
    timings = []
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        model.classify(batch)
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
    classify_s, classify_cpu = min(timings)
    print(
        f"train on 600 prompts: {fit_s:.2f} s wall, {fit_cpu:.2f} s CPU; "
        f"classify 1,000 prompts: {classify_s:.3f} s wall, {classify_cpu:.3f} s CPU "
        f"(best of 5; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )

    from arena_kit.datasets import bundled_responses

    arena_hard, _ = bundled_responses()
    filled = categories.fill_categories(arena_hard, classifier=model)
    shares = filled["category"].value_counts().reindex(list(CATEGORIES), fill_value=0)
    summary = ", ".join(f"{k} {v}" for k, v in shares.items())
    print(f"Arena-Hard prompts filled ({len(filled)}): {summary}")

    if markdown is not None:
        used = dataclasses.asdict(settings or categories.Settings())
        lines = [
            "# Prompt categories: held-out figures",
            "",
            f"Split: {len(train)} training / {len(test)} held-out prompts "
            f"(seed `{categories.SPLIT_SEED}`). Settings: `{used}`.",
            "",
            f"- accuracy: **{result.accuracy:.3f}** ({round(result.accuracy * result.n)}"
            f"/{result.n})",
            f"- macro-F1: **{result.macro_f1:.3f}**",
            f"- baseline, plain multinomial Naive Bayes on the same split: accuracy "
            f"{baseline.accuracy:.3f}, macro-F1 {baseline.macro_f1:.3f}",
            f"- training on 600 prompts: {fit_s:.2f} s wall ({fit_cpu:.2f} s CPU); classifying "
            f"1,000 prompts: {classify_s:.3f} s wall ({classify_cpu:.3f} s CPU)",
            "",
            "Per category:",
            "",
            _markdown_table(result.per_category.round(3)),
            "",
            "Confusion matrix (rows: label, columns: prediction):",
            "",
            _markdown_table(result.confusion),
            "",
            "Arena-Hard prompts filled by `fill_categories`: " + summary,
            "",
        ]
        markdown.write_text("\n".join(lines), encoding="utf-8")
        print(f"wrote {markdown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", action="store_true", help="cross-validate candidate settings")
    parser.add_argument("--only", nargs="*", help="with --tune: only these candidates")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="with --tune: repetitions")
    parser.add_argument(
        "--single", action="store_true", help="with --tune: the first round's one 5-fold pass"
    )
    parser.add_argument(
        "--first", action="store_true", help="report the first settings (held-out 0.817)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.tune:
        tune(args.only, args.seeds, args.single)
    else:
        report(args.markdown, FIRST if args.first else None)


if __name__ == "__main__":
    main()
