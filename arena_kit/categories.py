"""Prompt categories: which of the six BigCodeArena categories a prompt belongs to.

This first part fixes the held-out split of the 600 labelled AutoCodeArena prompts *before* any
classifier is tuned, so that the accuracy reported later is measured on prompts that no design
decision has seen.

The split is stratified (30 % of every category is held out) and seeded, and it depends on
nothing but the uids, the texts and SHA-256: no random-number generator whose stream could change
between numpy versions or machines. Near-duplicate prompts (the data holds pairs such as the same
request "using React" and "using Vue") are kept on the same side where the stratification allows,
so that the held-out score is not inflated by copies of training prompts.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArenaDataError
from .schema import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_PATH",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "load_labelled",
    "heldout_split",
]

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "autocodearena-v0" / "prompts.jsonl"
"""The bundled labelled prompts (``uid``, ``instruction``, ``category``)."""

_DATA_ENV = "ARENA_KIT_CATEGORY_DATA"
SPLIT_SEED = "arena-kit-categories-v1"
"""The seed of the held-out split. Changing it invalidates every reported figure."""
TEST_FRACTION = 0.3
"""Share of each category held out for the final evaluation."""

_NEAR_DUPLICATE_JACCARD = 0.7
_WORD = re.compile(r"\w+")


def _data_path(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    override = os.environ.get(_DATA_ENV)
    return Path(override) if override else DATA_PATH


def load_labelled(path: str | Path | None = None) -> pd.DataFrame:
    """The labelled prompts as a DataFrame with columns ``uid``, ``instruction``, ``category``.

    Parameters
    ----------
    path
        A JSONL file; defaults to the bundled AutoCodeArena prompts (or the file named by the
        ``ARENA_KIT_CATEGORY_DATA`` environment variable).

    Raises
    ------
    ArenaDataError
        The file is missing, a row lacks a column, or a category is not one of CATEGORIES.
    """
    import pandas as pd

    from .io import read_jsonl

    source = _data_path(path)
    if not source.exists():
        raise ArenaDataError(
            "the labelled prompts file does not exist",
            source=str(source),
            fix=f"restore data/autocodearena-v0/prompts.jsonl or set {_DATA_ENV}",
        )
    records, lines = read_jsonl(source)
    rows = []
    for record, line in zip(records, lines, strict=True):
        for column in ("uid", "instruction", "category"):
            value = record.get(column)
            if not isinstance(value, str) or not value.strip():
                raise ArenaDataError(
                    "missing or empty value",
                    source=str(source),
                    location=f"line {line}",
                    column=column,
                    value=value,
                    fix="every row needs uid, instruction and category strings",
                )
        if record["category"] not in CATEGORIES:
            raise ArenaDataError(
                "unknown category",
                source=str(source),
                location=f"line {line}",
                column="category",
                value=record["category"],
                fix=f"use one of {', '.join(CATEGORIES)}",
            )
        rows.append({c: record[c] for c in ("uid", "instruction", "category")})
    if not rows:
        raise ArenaDataError("no prompts in the file", source=str(source))
    return pd.DataFrame(rows)


def _hash_key(seed: str, text: str) -> str:
    return hashlib.sha256(f"{seed}\x00{text}".encode()).hexdigest()


def _near_duplicate_groups(uids: list[str], texts: list[str]) -> dict[str, str]:
    """Map each uid to the smallest uid of its near-duplicate group (word-set Jaccard)."""
    words = [frozenset(_WORD.findall(t.lower())) for t in texts]
    parent = list(range(len(uids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(uids)):
        for j in range(i + 1, len(uids)):
            union = len(words[i] | words[j])
            if union and len(words[i] & words[j]) / union > _NEAR_DUPLICATE_JACCARD:
                parent[root(j)] = root(i)
    members: dict[int, list[str]] = {}
    for i, uid in enumerate(uids):
        members.setdefault(root(i), []).append(uid)
    return {uid: min(group) for group in members.values() for uid in group}


def heldout_split(
    prompts: pd.DataFrame | None = None,
    *,
    test_fraction: float = TEST_FRACTION,
    seed: str = SPLIT_SEED,
) -> tuple[list[str], list[str]]:
    """The fixed, seeded, stratified train/test split of the labelled prompts.

    Within each category the prompts are ordered by SHA-256 of (seed, near-duplicate group,
    uid) and the first ``round(test_fraction * n)`` are held out. Ordering by the group first
    keeps near-duplicates together (one group at most per category straddles the cut).

    Parameters
    ----------
    prompts
        Columns ``uid``, ``instruction``, ``category``; defaults to :func:`load_labelled`.
    test_fraction
        Share of each category held out, strictly between 0 and 1.
    seed
        Any string; the default is the split every reported figure uses.

    Returns
    -------
    tuple of list of str
        ``(train_uids, test_uids)``, each sorted.
    """
    if not 0 < test_fraction < 1:
        raise ArenaDataError(
            "test_fraction must be strictly between 0 and 1",
            value=test_fraction,
            fix="pass e.g. 0.3",
        )
    frame = load_labelled() if prompts is None else prompts
    uids = [str(u) for u in frame["uid"]]
    if len(set(uids)) != len(uids):
        raise ArenaDataError("duplicated uids", column="uid", fix="give every prompt its own uid")
    group = _near_duplicate_groups(uids, [str(t) for t in frame["instruction"]])
    train: list[str] = []
    test: list[str] = []
    for category in CATEGORIES:
        members = [u for u, c in zip(uids, frame["category"], strict=True) if c == category]
        members.sort(key=lambda u: (_hash_key(seed, group[u]), _hash_key(seed, u)))
        cut = round(test_fraction * len(members))
        test.extend(members[:cut])
        train.extend(members[cut:])
    return sorted(train), sorted(test)
