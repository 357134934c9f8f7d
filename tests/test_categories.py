"""Tests of the prompt-category classifier and its fixed held-out split."""

from __future__ import annotations

import collections
import hashlib

import pytest

from arena_kit import categories
from arena_kit.errors import ArenaDataError
from arena_kit.schema import CATEGORIES

# SHA-256 of the newline-joined sorted test uids of the default split. If this changes, every
# reported figure was measured on a different split: never update it to make a test pass.
HELDOUT_TEST_DIGEST = "d184e95dca9d717c4b0856b54fc54462630fe44588c4af3efa88ddec4eeab852"


@pytest.fixture(scope="module")
def labelled():
    return categories.load_labelled()


@pytest.fixture(scope="module")
def split(labelled):
    return categories.heldout_split(labelled)


def test_split_is_the_committed_one(split):
    train, test = split
    assert hashlib.sha256("\n".join(test).encode()).hexdigest() == HELDOUT_TEST_DIGEST
    assert len(train) == 420 and len(test) == 180


def test_split_is_deterministic_and_disjoint(labelled, split):
    assert categories.heldout_split(labelled) == split
    train, test = split
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(labelled["uid"])
    assert train == sorted(train) and test == sorted(test)


def test_split_is_stratified(labelled, split):
    _, test = split
    label = dict(zip(labelled["uid"], labelled["category"], strict=True))
    held = collections.Counter(label[u] for u in test)
    total = collections.Counter(labelled["category"])
    for category in CATEGORIES:
        assert held[category] == round(0.3 * total[category])


def test_split_depends_on_the_seed(labelled, split):
    _, other = categories.heldout_split(labelled, seed="another seed")
    assert other != split[1]
    assert len(other) == len(split[1])


def test_split_rejects_a_bad_fraction(labelled):
    with pytest.raises(ArenaDataError, match="test_fraction"):
        categories.heldout_split(labelled, test_fraction=1.0)
