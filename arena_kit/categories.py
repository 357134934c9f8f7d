"""Prompt categories: which of the six BigCodeArena categories a prompt belongs to.

A built-in classifier needs no service: a scikit-learn pipeline (:func:`make_pipeline`) of
TF-IDF features (word 1-2-grams, character 2-5-grams inside words, the words of the prompt's
first 200 characters), a small hand-written lexicon per category, one feature per named
technology (Streamlit, Gradio, React, Pygame, Mermaid, p5.js …) and a linear support-vector
machine (``LinearSVC``: L2-regularised squared hinge, one-vs-rest, balanced class weights). It
is trained from the 600 labelled AutoCodeArena prompts shipped in the package at first use
(about a second) and kept in memory. The TF-IDF, the n-gram hashing and the SVM solver used
to be written here (up to commit bca0a53); the pipeline has the same features and settings,
and agrees with that classifier's predictions (``tests/fixtures/categories_before_sklearn.json``,
``tests/test_categories.py``). :class:`LLMClassifier` asks a chat model instead.

The held-out split of the labelled prompts was fixed (and committed) *before* any tuning: it is
stratified (30 % of every category is held out) and seeded, and it depends on nothing but the
uids, the texts and SHA-256: no random-number generator whose stream could change between numpy
versions or machines. Near-duplicate prompts (the data holds pairs such as the same request
"using React" and "using Vue") are kept on the same side where the stratification allows, so
that the held-out score is not inflated by copies of training prompts. Hyper-parameters were
chosen by cross-validation on the training part only (``benchmarks/bench_categories.py``):
first one 5-fold pass, then, after the held-out part had been scored once (0.817), one more
round of repeated cross-validation on the training part that added the technology cues and
moved three words out of the web-design lexicon (see ``docs/categories.md``).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ArenaDataError, ArenaKitError
from .resources import package_path
from .schema import CATEGORIES, CATEGORY_LABELS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.pipeline import Pipeline

__all__ = [
    "DATA_PATH",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "LEXICON",
    "LEXICON_V1",
    "TECH_CUES",
    "Settings",
    "make_pipeline",
    "CategoryClassifier",
    "Evaluation",
    "CompletionClient",
    "LLMClassifier",
    "load_labelled",
    "heldout_split",
    "default_classifier",
    "classify",
    "predict_proba",
    "fill_categories",
    "evaluate",
    "score",
]

DATA_PATH = package_path("autocodearena-v0", "prompts.jsonl")
"""The labelled prompts shipped in the package (``uid``, ``instruction``, ``category``): the
600 AutoCodeArena-v0 prompts (Apache-2.0; ``PROVENANCE.md`` beside them)."""

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
            fix=f"reinstall arena-kit (it ships the labelled prompts), or set {_DATA_ENV}",
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
    import numpy as np
    import scipy.sparse as sp

    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, text in enumerate(texts):
        for word in set(_WORD.findall(text.lower())):
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    present = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(texts), max(1, len(vocabulary)))
    )
    shared = np.asarray((present @ present.T).toarray())  # words two prompts have in common
    sizes = np.diag(shared)
    union = sizes[:, None] + sizes[None, :] - shared
    similar = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    parent = list(range(len(uids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(similar > _NEAR_DUPLICATE_JACCARD, k=1)), strict=True):
        parent[root(int(j))] = root(int(i))
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


# ---------------------------------------------------------------------------------------------
# Features.

LEXICON_V1: dict[str, str] = {
    "diagram_creation": (
        r"mermaid|diagram|flow ?chart|\buml\b|mind[- ]?map|timeline|gantt|\berd\b|"
        r"entity[- ]relationship|state machine|org(?:anisational|anizational)? chart|"
        r"workflow designer|graphviz|schematic"
    ),
    "game_development": (
        r"\bgames?\b|gaming|gameplay|\bplayers?\b|pygame|puzzle|\bscores?\b|\blevels?\b|snake|"
        r"tetris|chess|arcade|platformer|enem(?:y|ies)|ゲーム|游戏"
    ),
    "creative_coding": (
        r"animat|artistic|\bart\b|generative|fractal|particles?|three\.?js|webgl|p5\.?js|"
        r"procedural|mesmeri|aesthetic|visual effect|shader|kaleidoscope"
    ),
    "scientific_computing": (
        r"simulat|physics|numpy|scipy|pandas|statistic|machine learning|neural|modell?ing|"
        r"equation|numerical|matplotlib|\bplots?\b|regression|data ?sets?|analy[sz]"
    ),
    "problem_solving": (
        r"algorithm|function|leetcode|\barray|integer|complexity|implement|data structure|"
        r"linked list|binary|\bsort|pars(?:e|er|ing)\b|compiler|c\+\+|\bin c\b|\brust\b|"
        r"\bjava\b|\bgo\b|program"
    ),
    "web_design": (
        r"react|\bvue|html|\bcss\b|tailwind|website|web ?page|landing page|dashboard|"
        r"front[- ]?end|\bui\b|user interface|streamlit|gradio|responsive|component"
    ),
}
"""The first lexicon (``Settings(lexicon_version=1)``), kept to reproduce the first figures."""

LEXICON: dict[str, str] = {
    **LEXICON_V1,
    # Streamlit, Gradio and dashboard prompts are labelled scientific_computing about as often
    # as web_design (training part: 11 of 18, 10 of 14 and 8 of 23): as web-design cues they
    # pushed the wrong way. The technology cues below let the model learn their direction.
    "web_design": (
        r"react|\bvue|html|\bcss\b|tailwind|website|web ?page|landing page|"
        r"front[- ]?end|\bui\b|user interface|responsive|component"
    ),
}
"""Hand-written cue words per category (regular expressions, matched on lower-cased text).

Their match counts are features of the linear model, so they shift the decision rather than
override it; they matter most for the rare ``diagram_creation`` class (19 labelled prompts).
"""

TECH_CUES: tuple[str, ...] = (
    r"streamlit",
    r"gradio",
    r"react",
    r"vue",
    r"pygame",
    r"matplotlib|seaborn|plotly",
    r"mermaid",
    r"p5\.?js",
    r"canvas",
    r"three\.?js|webgl",
    r"\bd3",
    r"html",
    r"tailwind|\bcss\b",
    r"javascript|\bjs\b",
    r"c\+\+",
    r"\brust\b",
    r"\bgo\b|golang",
    r"\bjava\b",
    r"python",
    r"numpy|scipy|pandas",
    r"svg",
    r"d3\.js",
)
"""Named technologies, one feature each (log match count), whatever category they suggest: the
model learns from the labels which way each one points (Streamlit and Gradio prompts are mostly
labelled scientific computing, Pygame ones game development, Mermaid ones diagram creation)."""


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern``."""
    alternatives, depth, current = [], 0, ""
    for i, char in enumerate(pattern):
        escaped = i > 0 and pattern[i - 1] == "\\"
        depth += (char == "(" and not escaped) - (char == ")" and not escaped)
        if char == "|" and depth == 0:
            alternatives.append(current)
            current = ""
        else:
            current += char
    alternatives.append(current)
    return alternatives


def _first_characters(pattern: str) -> str:
    """The characters a match of ``pattern`` can start with (its top-level alternatives each
    start with a literal character, possibly after ``\\b``)."""
    return "".join(sorted({a.removeprefix("\\b")[0] for a in _alternatives(pattern)}))


def _compile_cue(pattern: str) -> re.Pattern[str]:
    # The look-ahead on the first character finds the same matches; it only lets the regular
    # expression engine skip most positions after one test instead of one per alternative. A
    # few alternatives that start with a literal are found faster without it (the engine
    # searches for their literal start itself).
    alternatives = _alternatives(pattern)
    if len(alternatives) <= 3 and not any(a.startswith("\\b") for a in alternatives):
        return re.compile(pattern)
    return re.compile(f"(?=[{re.escape(_first_characters(pattern))}])(?:{pattern})")


_LEXICON_PATTERNS = {category: _compile_cue(pattern) for category, pattern in LEXICON.items()}
_LEXICON_V1_PATTERNS = {c: _compile_cue(pattern) for c, pattern in LEXICON_V1.items()}
_TECH_PATTERNS = tuple(_compile_cue(pattern) for pattern in TECH_CUES)
_TOKEN = re.compile(r"\w\w+")
_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
"""Words of two or more word characters (scikit-learn's default, spelt out)."""


def _head_lowered(text: str, chars: int) -> str:
    """The first ``chars`` characters of a prompt, lower-cased: the request before its details."""
    return text[:chars].lower()


def _cue_features(texts: Sequence[str], patterns: Sequence[re.Pattern[str]]) -> np.ndarray:
    """``log(1 + number of matches)`` of every pattern in every lower-cased text."""
    import numpy as np

    # One scan of all texts per pattern; the NUL separator keeps matches inside one text.
    lowered = [t.lower().replace("\0", " ") for t in texts]
    starts = np.cumsum([0] + [len(t) + 1 for t in lowered])[:-1]
    joined = "\0".join(lowered)
    counts = np.zeros((len(texts), len(patterns)))
    for k, pattern in enumerate(patterns):
        positions = [m.start() for m in pattern.finditer(joined)]
        document = np.searchsorted(starts, positions, side="right") - 1
        counts[:, k] = np.bincount(document, minlength=len(texts))
    return np.log1p(counts)


def _scaled_cues(
    texts: Sequence[str], patterns: Sequence[re.Pattern[str]], scales: Sequence[float]
) -> sp.csr_matrix:
    """:func:`_cue_features` times each pattern's weight, as a sparse block of the features."""
    import numpy as np
    import scipy.sparse as sp

    return sp.csr_matrix(_cue_features(list(texts), patterns) * np.asarray(scales))


# ---------------------------------------------------------------------------------------------
# The built-in classifier.


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters of :class:`CategoryClassifier` (chosen by cross-validation on the
    training part of the held-out split; see ``benchmarks/bench_categories.py``)."""

    c: float = 1.0
    """Inverse regularisation strength of the linear SVM."""
    min_df: int = 2
    """Keep n-grams found in at least this many training prompts."""
    char_sizes: tuple[int, int] = (2, 5)
    """Smallest and largest character n-gram."""
    head_chars: int = 200
    """Also weigh the words of the first N characters (the request before its details)."""
    lexicon_weight: float = 0.5
    """Scale of the lexicon features (0 switches them off)."""
    lexicon_version: int = 2
    """2: :data:`LEXICON`; 1: :data:`LEXICON_V1`, the first one (to reproduce its figures)."""
    tech_weight: float = 0.5
    """Scale of the technology-cue features, :data:`TECH_CUES` (0 switches them off)."""
    balanced: bool = True
    """Weigh each category inversely to its frequency (helps the rare ones)."""
    temperature: float = 3.0
    """``predict_proba`` is ``softmax(temperature * decision score)``."""
    tol: float = 1e-6
    """Stopping tolerance of liblinear's dual coordinate descent. Tight: the hand-written
    solver this replaced solved exactly, and its figures are the reference."""
    max_iter: int = 100_000
    """Most passes of liblinear's coordinate descent per category."""


def _check_texts(texts: Any, *, what: str = "texts") -> list[str]:
    """The texts as a list of non-empty strings, or an ArenaDataError naming the bad one."""
    if isinstance(texts, (str, bytes)):
        raise ArenaDataError(
            f"{what} must be a list of prompts, not one string",
            value=texts[:60],
            fix="wrap the prompt in a list: classify([text])",
        )
    if isinstance(texts, Mapping) or not isinstance(texts, Iterable):
        raise ArenaDataError(
            f"{what} must be a list or a pandas Series of strings",
            value=type(texts).__name__,
            fix="pass e.g. frame['instruction']",
        )
    values = list(texts)
    for index, text in enumerate(values):
        if not isinstance(text, str):
            raise ArenaDataError(
                "a prompt is not text",
                location=f"item {index + 1}",
                value=text,
                fix="give every prompt as a string",
            )
        if not text.strip():
            raise ArenaDataError(
                "a prompt is empty",
                location=f"item {index + 1}",
                value=text,
                fix="drop empty prompts before classifying",
            )
    return values


def make_pipeline(settings: Settings | None = None) -> Pipeline:
    """The classifier as a scikit-learn pipeline: a union of feature blocks, then the SVM.

    Feature blocks (TF-IDF blocks with sub-linear term frequency, smoothed IDF, unit length):

    ``words``
        word 1- and 2-grams of the whole prompt;
    ``characters``
        character 2- to 5-grams inside words (``char_wb``: robust to spelling, identifiers,
        other languages);
    ``head_words``
        word 1- and 2-grams of the first ``head_chars`` characters;
    ``cues``
        ``log(1 + matches)`` of each category's lexicon (:data:`LEXICON`) and of each named
        technology (:data:`TECH_CUES`), scaled by their weights.

    ``svm`` is a linear SVM (L2-regularised squared hinge, one-vs-rest, an intercept that is
    regularised like the other weights); balanced classes are a sample weight
    (:meth:`CategoryClassifier.fit`), so that each prompt weighs the same in every
    one-vs-rest problem.
    """
    import functools

    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    s = settings or Settings()
    if s.lexicon_version not in (1, 2):
        raise ArenaKitError(f"lexicon_version must be 1 or 2, not {s.lexicon_version!r}")
    words = {
        "token_pattern": _TOKEN_PATTERN,
        "ngram_range": (1, 2),
        "min_df": s.min_df,
        "sublinear_tf": True,
        "dtype": np.float64,
    }
    blocks: list[tuple[str, Any]] = [
        ("words", TfidfVectorizer(**words)),
        (
            "characters",
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=s.char_sizes,
                min_df=s.min_df,
                sublinear_tf=True,
                dtype=np.float64,
            ),
        ),
    ]
    if s.head_chars:
        head = functools.partial(_head_lowered, chars=s.head_chars)
        blocks.append(("head_words", TfidfVectorizer(preprocessor=head, **words)))
    lexicon = _LEXICON_PATTERNS if s.lexicon_version == 2 else _LEXICON_V1_PATTERNS
    patterns: list[re.Pattern[str]] = []
    scales: list[float] = []  # one scan of the lower-cased texts for both kinds of cue
    if s.lexicon_weight:
        patterns += [lexicon[category] for category in CATEGORIES]
        scales += [s.lexicon_weight] * len(CATEGORIES)
    if s.tech_weight:
        patterns += _TECH_PATTERNS
        scales += [s.tech_weight] * len(_TECH_PATTERNS)
    if patterns:
        cues = FunctionTransformer(
            _scaled_cues, kw_args={"patterns": tuple(patterns), "scales": tuple(scales)}
        )
        blocks.append(("cues", cues))
    svm = LinearSVC(
        C=s.c,
        loss="squared_hinge",
        penalty="l2",
        dual=True,
        fit_intercept=True,
        intercept_scaling=1.0,
        tol=s.tol,
        max_iter=s.max_iter,
        random_state=0,  # liblinear visits the prompts in a shuffled order: a fixed one
    )
    return Pipeline([("features", FeatureUnion(blocks)), ("svm", svm)])


class CategoryClassifier:
    """TF-IDF features and a linear SVM that map a prompt to one of :data:`CATEGORIES`.

    A thin layer over the scikit-learn pipeline of :func:`make_pipeline` (``.pipeline``
    once fitted): it checks the input, weighs the classes and reports scores in
    :data:`CATEGORIES` order.

    Parameters
    ----------
    settings
        Hyper-parameters; the defaults are the tuned ones.

    Examples
    --------
    >>> model = CategoryClassifier().fit(texts, labels)  # doctest: +SKIP
    >>> model.classify(["Draw a Mermaid flowchart of a login"])  # doctest: +SKIP
    ['diagram_creation']
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.pipeline: Pipeline | None = None
        self._order: list[int] = []
        self.converged = False

    def __repr__(self) -> str:
        state = "fitted" if self.pipeline is not None else "not fitted"
        return f"CategoryClassifier({self.settings}, {state})"

    def fit(self, texts: Iterable[str], labels: Iterable[str]) -> CategoryClassifier:
        """Learn from labelled prompts (every category must have at least one)."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.utils.class_weight import compute_sample_weight

        values = _check_texts(texts)
        targets = [str(t) for t in labels]
        if len(targets) != len(values):
            raise ArenaDataError(
                f"{len(values)} texts but {len(targets)} labels",
                fix="give one label per text",
            )
        unknown = sorted(set(targets) - set(CATEGORIES))
        if unknown:
            raise ArenaDataError(
                "unknown category label",
                column="category",
                value=unknown[0],
                fix=f"use one of {', '.join(CATEGORIES)}",
            )
        missing = [c for c in CATEGORIES if c not in targets]
        if missing:
            raise ArenaDataError(
                f"no training prompt for {', '.join(missing)}",
                fix="train on prompts of all six categories",
            )
        pipeline = make_pipeline(self.settings)
        # Balanced weights per prompt (n / (6 * its category's count)), not scikit-learn's
        # class_weight: in one-vs-rest, liblinear would weigh only the positive side.
        weights = compute_sample_weight("balanced" if self.settings.balanced else None, targets)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(values, targets, svm__sample_weight=weights)
        self.converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        classes = [str(c) for c in pipeline.named_steps["svm"].classes_]
        self._order = [classes.index(c) for c in CATEGORIES]
        self.pipeline = pipeline
        return self

    def decision_function(self, texts: Iterable[str]) -> np.ndarray:
        """The SVM score of every category, shape ``(n_texts, 6)`` in CATEGORIES order."""
        import numpy as np

        if self.pipeline is None:
            raise ArenaKitError("the classifier is not fitted: call fit(texts, labels) first")
        values = _check_texts(texts)
        if not values:
            return np.zeros((0, len(CATEGORIES)))
        scores = np.asarray(self.pipeline.decision_function(values))
        return scores[:, self._order]

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Category probabilities, shape ``(n_texts, 6)``, rows summing to 1."""
        import numpy as np

        scores = self.decision_function(texts) * self.settings.temperature
        scores -= scores.max(axis=1, keepdims=True) if len(scores) else 0
        exp = np.exp(scores)
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def classify(self, texts: Iterable[str]) -> list[str]:
        """The most likely category of each text."""
        scores = self.decision_function(texts)
        return [CATEGORIES[i] for i in scores.argmax(axis=1)]


@functools.lru_cache(maxsize=1)
def _default_classifier(path: str) -> CategoryClassifier:
    frame = load_labelled(path)
    return CategoryClassifier().fit(list(frame["instruction"]), list(frame["category"]))


def default_classifier() -> CategoryClassifier:
    """The built-in classifier, trained on all bundled labelled prompts at first use and kept.

    Training takes about a second; later calls return the same object.
    """
    return _default_classifier(str(_data_path(None)))


def classify(texts: Iterable[str]) -> list[str]:
    """The category of each prompt, by the built-in classifier.

    Parameters
    ----------
    texts
        A list (or pandas Series) of non-empty strings.

    Returns
    -------
    list of str
        One of :data:`~arena_kit.schema.CATEGORIES` per text.

    Raises
    ------
    ArenaDataError
        A single string instead of a list, a value that is not text, or an empty prompt.
    """
    values = _check_texts(texts)
    return default_classifier().classify(values) if values else []


def predict_proba(texts: Iterable[str]) -> pd.DataFrame:
    """Category probabilities by the built-in classifier: one row per text, one column per
    category (CATEGORIES order); the index is the Series' index when a Series is given."""
    import pandas as pd

    index = texts.index if isinstance(texts, pd.Series) else None
    values = _check_texts(texts)
    return pd.DataFrame(
        default_classifier().predict_proba(values), columns=list(CATEGORIES), index=index
    )


# ---------------------------------------------------------------------------------------------
# Filling a prompts table.


class _Classifier(Protocol):
    def classify(self, texts: Iterable[str]) -> list[str]: ...


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    import pandas as pd

    return value is pd.NA


def fill_categories(
    prompts: pd.DataFrame,
    *,
    classifier: _Classifier | None = None,
    text_column: str = "instruction",
) -> pd.DataFrame:
    """A copy of ``prompts`` whose missing ``category`` values are predicted.

    Given categories are kept as they are. The column ``category_source`` says where each
    category comes from: ``"label"`` (given) or ``"predicted"``.

    Parameters
    ----------
    prompts
        A DataFrame with a text column (``instruction``) and, optionally, ``category``.
    classifier
        Anything with ``classify(texts) -> list[str]``; defaults to the built-in classifier
        (an :class:`LLMClassifier` works too).
    text_column
        The column holding the prompts' text.

    Raises
    ------
    ArenaDataError
        Not a DataFrame, no text column, a given category that is not one of CATEGORIES, or a
        prompt to classify that is not text or is empty (the message names the row, 1-based).
    """
    import pandas as pd

    if not isinstance(prompts, pd.DataFrame):
        raise ArenaDataError(
            "fill_categories needs a DataFrame",
            value=type(prompts).__name__,
            fix="load the prompts with arena_kit.schema.validate(path, 'prompts')",
        )
    if text_column not in prompts.columns:
        raise ArenaDataError(
            f"no {text_column!r} column",
            fix=f"name the prompts' text column {text_column!r} or pass text_column=",
        )
    frame = prompts.copy()
    if "category" not in frame.columns:
        frame["category"] = None
    categories = frame["category"].astype(object).tolist()
    missing = [i for i, value in enumerate(categories) if _is_missing(value)]
    for row, value in enumerate(categories):
        if row not in missing and value not in CATEGORIES:
            raise ArenaDataError(
                "unknown category",
                location=f"row {row + 1}",
                column="category",
                value=value,
                fix=f"use one of {', '.join(CATEGORIES)}, or leave it empty to have it predicted",
            )
    texts = frame[text_column].tolist()
    for row in missing:
        text = texts[row]
        if not isinstance(text, str) or not text.strip():
            raise ArenaDataError(
                "the prompt to classify is "
                + ("not text" if not isinstance(text, str) else "empty"),
                location=f"row {row + 1}",
                column=text_column,
                value=text,
                fix="give the prompt's text, or a category",
            )
    model = classifier if classifier is not None else None
    predicted = (
        (model.classify if model is not None else classify)([texts[r] for r in missing])
        if missing
        else []
    )
    sources = ["label"] * len(frame)
    for row, category in zip(missing, predicted, strict=True):
        categories[row] = category
        sources[row] = "predicted"
    frame["category"] = pd.Series(categories, index=frame.index, dtype=object)
    frame["category_source"] = pd.Series(sources, index=frame.index, dtype=object)
    return frame


# ---------------------------------------------------------------------------------------------
# Evaluation.


@dataclass(frozen=True)
class Evaluation:
    """How well a classifier's categories match the labels."""

    accuracy: float
    macro_f1: float
    confusion: pd.DataFrame
    """Counts: rows are the labels, columns the predictions, both in CATEGORIES order."""
    per_category: pd.DataFrame
    """Precision, recall, F1 and support of each category."""
    n: int

    def __str__(self) -> str:
        return (
            f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f} on {self.n} prompts\n"
            f"{self.confusion.to_string()}"
        )


def score(labels: Sequence[str], predictions: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1, confusion matrix and per-category figures of ``predictions``."""
    import numpy as np
    import pandas as pd

    if len(labels) != len(predictions) or not labels:
        raise ArenaDataError(
            f"{len(labels)} labels and {len(predictions)} predictions",
            fix="score at least one prediction, one per label",
        )
    position = {c: i for i, c in enumerate(CATEGORIES)}
    for value in (*labels, *predictions):
        if value not in position:
            raise ArenaDataError(
                "unknown category", value=value, fix=f"use one of {', '.join(CATEGORIES)}"
            )
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels, predictions = [str(v) for v in labels], [str(v) for v in predictions]
    matrix = confusion_matrix(labels, predictions, labels=list(CATEGORIES))
    # An undefined precision or recall (nothing predicted or labelled so) counts as 0.
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(CATEGORIES), zero_division=0.0
    )
    present = support > 0  # macro-F1 over the categories the labels hold
    names = pd.Index(list(CATEGORIES))
    return Evaluation(
        accuracy=float(np.trace(matrix) / matrix.sum()),
        macro_f1=float(f1[present].mean()),
        confusion=pd.DataFrame(
            matrix, index=names.rename("label"), columns=names.rename("predicted")
        ),
        per_category=pd.DataFrame(
            {"precision": precision, "recall": recall, "f1": f1, "support": support},
            index=names.rename("category"),
        ),
        n=int(matrix.sum()),
    )


def evaluate(
    texts: Iterable[str] | None = None,
    labels: Iterable[str] | None = None,
    *,
    classifier: _Classifier | None = None,
    settings: Settings | None = None,
) -> Evaluation:
    """Measure a classifier against labels.

    With no texts, this is the reported measurement: a fresh :class:`CategoryClassifier`
    (with ``settings``) is trained on the training part of the fixed held-out split and scored
    on the held-out part, unless ``classifier`` is given.

    Parameters
    ----------
    texts, labels
        Prompts and their categories; default: the held-out part of the bundled prompts.
    classifier
        Anything with ``classify(texts) -> list[str]``. Default: trained on the training part
        when scoring the held-out part, else the built-in :func:`default_classifier` (which has
        seen every bundled prompt, so scoring it on them measures nothing).
    settings
        Hyper-parameters of the freshly trained classifier.
    """
    if texts is None:
        if labels is not None:
            raise ArenaDataError("labels given without texts", fix="pass texts and labels")
        frame = load_labelled()
        train, test = heldout_split(frame)
        by_uid = frame.set_index("uid")
        if classifier is None:
            classifier = CategoryClassifier(settings).fit(
                list(by_uid.loc[train, "instruction"]), list(by_uid.loc[train, "category"])
            )
        values = list(by_uid.loc[test, "instruction"])
        targets = [str(c) for c in by_uid.loc[test, "category"]]
    else:
        if labels is None:
            raise ArenaDataError("texts given without labels", fix="pass labels=[...] too")
        values = _check_texts(texts)
        targets = [str(c) for c in labels]
        if classifier is None:
            classifier = default_classifier()
    return score(targets, classifier.classify(values))


# ---------------------------------------------------------------------------------------------
# An LLM as the classifier.


class CompletionClient(Protocol):
    """What :class:`LLMClassifier` needs from a model client: ``complete``.

    Either ``complete(messages) -> str`` or, as :class:`arena_kit.models.ModelClient` does,
    ``complete(model, messages)`` returning a string or an object with a ``text`` attribute.
    """

    def complete(self, *args: Any, **kwargs: Any) -> Any: ...


_DEFINITIONS: dict[str, str] = {
    "web_design": "websites, web apps, dashboards, forms and UI components",
    "problem_solving": "algorithms, data structures, puzzles with one answer, general programs",
    "game_development": "playable games and game mechanics",
    "scientific_computing": "numerical methods, scientific simulation, data analysis, ML",
    "creative_coding": "generative art, animation, visual or musical effects",
    "diagram_creation": "diagrams, flowcharts, Mermaid, UML, mind maps, timelines",
}


class LLMClassifier:
    """Ask a chat model for each prompt's category.

    Parameters
    ----------
    client
        An object with ``complete``: ``complete(messages) -> str`` when ``model`` is None,
        else ``complete(model, messages)`` (the signature of
        :class:`arena_kit.models.ModelClient`) returning a string or an object with ``text``.
    model
        The model's name in the client's configuration.
    fallback
        Used when an answer names no category; default: the built-in classifier.
    max_chars
        Prompts are cut to this many characters before they are sent.

    Attributes
    ----------
    fallbacks
        Indexes (in the last ``classify`` call) whose answer named no category.
    """

    def __init__(
        self,
        client: CompletionClient,
        model: str | None = None,
        *,
        fallback: _Classifier | None = None,
        max_chars: int = 4000,
    ) -> None:
        if not callable(getattr(client, "complete", None)):
            raise ArenaKitError(
                f"{type(client).__name__} has no complete() method: pass a model client"
            )
        self.client = client
        self.model = model
        self.fallback = fallback
        self.max_chars = max_chars
        self.fallbacks: list[int] = []

    def messages(self, text: str) -> list[dict[str, str]]:
        """The chat messages sent for one prompt."""
        lines = "\n".join(f"- {c}: {d}" for c, d in _DEFINITIONS.items())
        system = (
            "You sort programming requests into categories. The categories are:\n"
            f"{lines}\nAnswer with the category's name only."
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": text[: self.max_chars]},
        ]

    def _ask(self, text: str) -> str:
        messages = self.messages(text)
        if self.model is None:
            answer = self.client.complete(messages)
        else:
            answer = self.client.complete(self.model, messages)
        return answer if isinstance(answer, str) else str(getattr(answer, "text", ""))

    @staticmethod
    def parse(answer: str) -> str | None:
        """The category an answer names first (``web design`` and ``web_design`` both count)."""
        text = answer.lower().replace("-", "_")
        found: list[tuple[int, str]] = []
        for category in CATEGORIES:
            for spelling in (category, CATEGORY_LABELS[category].lower()):
                at = text.find(spelling)
                if at >= 0:
                    found.append((at, category))
        return min(found)[1] if found else None

    def classify(self, texts: Iterable[str]) -> list[str]:
        """One category per text; unanswered ones are classified by the fallback."""
        values = _check_texts(texts)
        answers = [self.parse(self._ask(text)) for text in values]
        self.fallbacks = [i for i, a in enumerate(answers) if a is None]
        if self.fallbacks:
            backup = self.fallback or default_classifier()
            guesses = backup.classify([values[i] for i in self.fallbacks])
            for index, guess in zip(self.fallbacks, guesses, strict=True):
                answers[index] = guess
        return [a for a in answers if a is not None]
