"""The report pipeline: run the analysis notebooks with papermill, export an offline HTML report.

``arena-kit report --votes votes.jsonl --out reports/mine`` (or :func:`run`) executes the
analysis notebooks in order (never the interactive labeling one), each with the same
parameters, and writes into ``--out``::

    report.html           the summary, code hidden, charts inline (SVG), opens offline
    notebooks/*.ipynb     the executed notebooks
    tables/*.csv          every table the notebooks computed
    manifest.json         input hashes, versions, commit, seeds, parameters, timings

The report is built in a temporary folder beside ``--out`` and moved into place only when
every notebook succeeded, so a failure never leaves a half-written report (an older report at
``--out`` stays as it was). The first failing notebook stops the run with its cell and
traceback (:class:`ReportError`). Its files get the modes any file you write gets (your
umask: 0644 and 0755 under the usual 022), so colleagues and a web server can read it.

Every notebook takes its inputs under the same names (:data:`DATA_PARAMETERS`), reads them with
:func:`read_inputs`, and falls back to the bundled data only when it is given none.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArenaDataError, ArenaKitError, OutputExistsError
from .resources import package_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NOTEBOOKS_DIR",
    "ANALYSIS_NOTEBOOKS",
    "JUDGE_NOTEBOOKS",
    "DATA_PARAMETERS",
    "JUDGES_ON",
    "Inputs",
    "read_inputs",
    "ReportError",
    "REPORT_KIND",
    "check_out",
    "run",
    "load_votes",
    "data_banner",
    "analysis_commands",
    "warnings_as_notes",
    "TableWriter",
    "show_table",
    "show_ranks",
    "show_against_baseline",
    "fold",
    "HEADERS",
    "PERCENT_COLUMNS",
    "export_html",
    "apply_filters",
]

NOTEBOOKS_DIR = package_path("notebooks")
"""The report's notebooks, shipped in the package (in the repository: its ``notebooks/``)."""
EXECUTE_NOTEBOOK = "01_execute.ipynb"
JUDGE_NOTEBOOKS: tuple[str, ...] = ("05_judges.ipynb", "06_autocodearena.ipynb")
"""BigCodeReward and AutoCodeArena (``judges=``): on the report's own votes and responses, or
on the bundled real battles (``judges="bundled"``)."""
JUDGES_ON: tuple[str, ...] = ("yours", "bundled")
"""What ``judges=`` may name: the report's inputs, or the bundled real battles and their
SIMULATED votes (the offline demo)."""
DATA_PARAMETERS: tuple[str, ...] = (
    "votes_path",
    "battles_path",
    "responses_path",
    "executions_path",
    "prompts_path",
)
"""The input parameters every notebook of the report takes, under these names (an empty value:
not given)."""
ANALYSIS_NOTEBOOKS: tuple[str, ...] = (
    "03_votes_by_category.ipynb",
    "04_rankings.ipynb",
    "report.ipynb",
)
"""Run in this order (after ``01_execute`` when responses are given without executions);
``report.ipynb`` reads the tables the others wrote."""

_TEMPLATES = package_path("templates")

REPORT_KIND = "arena-kit report"
"""The ``kind`` of a report's ``manifest.json``: what marks a folder as a report arena-kit may
replace (see :func:`check_out`)."""
_LEGACY_KEYS = {"created", "inputs", "parameters", "versions", "notebooks", "seconds_per_notebook"}
_LAYOUT = ("report.html", "manifest.json", "notebooks/*", "tables/*", "inputs/*")
"""The files of a report whose manifest does not list them (reports made before manifests had
``files``): its own folders as a whole, whatever the notebooks of that version wrote there."""


class ReportError(ArenaKitError):
    """A notebook of the report failed; the message names the notebook, cell and error."""


@dataclass(frozen=True, eq=False)
class Inputs:
    """The tables a notebook was given (``None``: not given), read and validated."""

    votes: pd.DataFrame | None = None
    battles: pd.DataFrame | None = None
    responses: pd.DataFrame | None = None
    executions: pd.DataFrame | None = None
    prompts: pd.DataFrame | None = None

    @property
    def given(self) -> list[str]:
        """The names of the tables given, e.g. ``["votes", "responses"]``."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def require(self, name: str, *, why: str) -> pd.DataFrame:
        """The table ``name``; an :class:`ArenaDataError` saying ``why`` when it was not given."""
        table = getattr(self, name)
        if table is None:
            raise ArenaDataError(
                f"no {name} given: {why}",
                source="notebook parameters",
                fix=f"pass {name}_path (arena-kit report: --{name})",
            )
        return table


def read_inputs(
    *,
    votes_path: str | Path | None = "",
    battles_path: str | Path | None = "",
    responses_path: str | Path | None = "",
    executions_path: str | Path | None = "",
    prompts_path: str | Path | None = "",
) -> Inputs:
    """Read the tables named by a notebook's :data:`DATA_PARAMETERS` (empty names are skipped).

    Votes may be any votes file or a vote store (:func:`load_votes`); the others are table
    files, validated (:func:`arena_kit.schema.validate`), or the same store (a live session's
    store holds every table: :func:`arena_kit.datasets.read_table`).
    """
    from .datasets import read_table

    def table(path: str | Path | None, name: str) -> pd.DataFrame | None:
        return read_table(path, name) if path else None

    return Inputs(
        votes=load_votes(votes_path) if votes_path else None,
        battles=table(battles_path, "battles"),
        responses=table(responses_path, "responses"),
        executions=table(executions_path, "executions"),
        prompts=table(prompts_path, "prompts"),
    )


def load_votes(path: str | Path) -> pd.DataFrame:
    """Votes from a table file (JSONL, JSON, Parquet, CSV) or a vote store (``.sqlite``/``.db``).

    Raises :class:`~arena_kit.errors.ArenaDataError` for a missing file or bad rows.
    """
    from .store import is_store_location, open_existing

    if is_store_location(path):
        with open_existing(path, reading="votes") as store:
            return store.votes()
    path = Path(path)
    if not path.exists():
        raise ArenaDataError("file not found", source=str(path), fix="check the --votes path")
    if path.is_dir() and path.suffix.lower() != ".parquet":  # a Parquet data set may be a folder
        raise ArenaDataError(
            "is a folder, not a votes file",
            source=str(path),
            fix="give --votes a votes file (.jsonl, .json, .parquet, .csv) or a vote store "
            "(.sqlite, .db)",
        )
    from .datasets import read_votes

    return read_votes(path)


def data_banner(
    votes: pd.DataFrame,
    *,
    runs: int | None = None,
    judged: str | None = None,
    autocodearena: bool = False,
) -> str:
    """Markdown saying what the data are; simulated votes are always called so.

    Parameters
    ----------
    votes
        The votes every section of rankings and annotators is built on.
    runs
        The number of runs behind the report's "Does the code run?" section (None: no section).
    judged
        What the judges' section judged, as ``05_judges`` names it (its ``judge_data`` table:
        ``"your votes"``, or ``"the bundled real battles and their SIMULATED votes"``); None:
        no judges' section.
    autocodearena
        The report has the AutoCodeArena section.

    Returns
    -------
    str
        A warning when any section rests on simulated votes, the count of votes by source,
        and, when a section other than the votes' is named, one line per section saying
        whether it shows simulated votes or real answers.
    """
    sources = votes["source"].fillna("unknown").value_counts()
    parts = [f"{count:,} from {source}" for source, count in sources.items()]
    simulated = int(sources.get("simulated", 0))
    share = simulated / len(votes) if len(votes) else 0.0
    judged_simulated = judged is not None and (
        "SIMULATED" in judged or (judged == "your votes" and simulated > 0)
    )
    warnings_ = []
    if simulated:
        warnings_.append(
            f"> ⚠️ **SIMULATED DATA** — {share:.0%} of these votes were generated by "
            "`arena_kit.simulate` from known ratings, not cast by people."
        )
    if judged_simulated and "SIMULATED" in (judged or ""):
        warnings_.append(
            "> ⚠️ **SIMULATED DATA** — the judges are scored against simulated votes on real "
            "answers."
        )
    text = f"**{len(votes):,} vote{'s' * (len(votes) != 1)}** ({', '.join(parts)})."
    if runs is not None or judged is not None or autocodearena:
        kind = (
            "**SIMULATED**" if simulated == len(votes) and simulated
            else f"{share:.0%} **SIMULATED**" if simulated
            else "not simulated"
        )  # fmt: skip
        lines = [
            f"- *The data, Leaderboard, By category, Do the views agree?, Annotators*: the "
            f"{len(votes):,} votes — {kind}."
        ]
        if runs is not None:
            lines.append(
                f"- *Does the code run?*: real answers, run in the sandbox ({runs:,} runs)."
            )
        if judged is not None:
            against = "**SIMULATED** votes" if judged_simulated else "votes that are not simulated"
            lines.append(
                f"- *Judges*: real answers, judged and scored against {against} ({judged})."
            )
        if autocodearena:
            lines.append(
                "- *AutoCodeArena*: real answers played against a baseline and judged; no votes."
            )
        text += "\n\n" + "\n".join(lines)
    return "\n\n".join([*warnings_, text])


def analysis_commands(votes_path: str | Path) -> str:
    """Markdown: the exact commands that analyse the votes at ``votes_path`` (a store, e.g.
    the one ``02_label`` writes), with ``03_votes_by_category``, ``04_rankings`` and the
    report, and the line to set in those notebooks when opened in JupyterLab."""
    import shlex

    from .store import is_postgres_url, public_location

    text = os.fspath(votes_path)
    if is_postgres_url(text):  # its URL, never its password
        shown = public_location(text)
        out = Path("reports") / shown.rsplit("/", 1)[-1].split("?")[0]
    else:
        votes = Path(text).expanduser().resolve()
        shown, out = str(votes), votes.parent / "reports" / votes.stem
    bin_dir = Path(sys.executable).parent
    quoted = shlex.quote(shown)
    lines = [
        f"{shlex.quote(str(bin_dir / 'papermill'))} "
        f"{shlex.quote(str(NOTEBOOKS_DIR / name))} {stem}.ipynb -p votes_path {quoted}"
        for name, stem in (("03_votes_by_category.ipynb", "votes-03"),
                           ("04_rankings.ipynb", "votes-04"))
    ]  # fmt: skip
    lines.append(
        f"{shlex.quote(str(bin_dir / 'arena-kit'))} report --votes {quoted} "
        f"--out {shlex.quote(str(out))}"
    )
    return (
        "In JupyterLab, open `03_votes_by_category.ipynb` or `04_rankings.ipynb` and set "
        f"`votes_path = {shown!r}` in its first cell. Headless, from any folder:\n\n"
        "```bash\n" + "\n".join(lines) + "\n```"
    )


@contextlib.contextmanager
def warnings_as_notes() -> Iterator[None]:
    """Show the ratings warnings raised inside the block as one markdown list after it.

    In an exported report a warning left to the notebook is a red box of source lines; as a
    note under its table it reads as what it is. Other warnings pass through unchanged.
    """
    from IPython.display import Markdown, display

    from .ratings import RatingsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RatingsWarning)
        yield
    notes = []
    for warning in caught:
        if issubclass(warning.category, RatingsWarning):
            notes.append(str(warning.message))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    notes = list(dict.fromkeys(notes))
    if len(notes) > 3:
        # A slicing by environment can give a note per slice: folded, they no longer bury
        # the tables they qualify (the thin rows are marked there too).
        import html

        items = "".join(f"<li>⚠️ {html.escape(note)}</li>" for note in notes)
        display(fold(f"<ul>{items}</ul>", f"⚠️ {len(notes)} notes on these fits (click to read)"))
    elif notes:
        display(Markdown("\n".join(f"- ⚠️ {note}" for note in notes)))


class TableWriter:
    """Writes a notebook's tables as CSV files into one folder (the report's ``tables/``)."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, frame: pd.DataFrame, name: str) -> pd.DataFrame:
        """Save ``frame`` as ``<name>.csv`` (when a folder is set) and return it for display."""
        if self.folder is not None:
            from .io import atomic_path

            with atomic_path(self.folder / f"{name}.csv") as temporary:
                frame.to_csv(temporary, index=False)
        return frame

    def read(self, name: str) -> pd.DataFrame | None:
        """The table ``<name>.csv`` an earlier notebook saved here; None when there is none
        (no folder, or that notebook did not run)."""
        import pandas as pd

        path = self.folder / f"{name}.csv" if self.folder is not None else None
        return pd.read_csv(path) if path is not None and path.is_file() else None


# ---------------------------------------------------------------------------------------------
# How tables read in the notebooks and the report: one look for every table.

HEADERS: dict[str, str] = {
    "n_votes": "votes",
    "n_battles": "battles",
    "n_decisive": "decisive votes",
    "n_gold": "gold votes",
    "n_prompts": "prompts",
    "n_games": "games",
    "n_unparsed": "unparsed",
    "n_pairs": "pairs",
    "n_unreadable_pairs": "unreadable pairs",
    "rank_ub": "rank_ub",
    "win_rate": "win rate",
    "draw_rate": "draw rate",
    "both_bad": "both bad",
    "left_share": "left panel",
    "p_value": "p-value",
    "macro_f1": "macro-F1",
    "kappa": "Cohen's κ",
    "mcc": "MCC",
    "consistency_3class": "consistency (3 classes)",
    "first_shown_wins": "first shown wins",
    "median_s": "median s per vote",
    "tstamp": "time (UTC)",
    "duration_s": "seconds",
}
"""Table headers as people read them; other names are shown with spaces for underscores."""

PERCENT_COLUMNS: frozenset[str] = frozenset(
    {"share", "win_rate", "draw_rate", "left_share", "accuracy", "consistency",
     "consistency_3class", "first_shown_wins", "agreement", "agreement_3class", "chance"}
)  # fmt: skip
"""Shares, shown as percentages (their ``_low``/``_high`` interval ends too)."""

_DECIMALS = {"rating": 0, "duration_s": 1, "macro_f1": 3, "kappa": 3, "mcc": 3, "lift": 3}
_NAMED = ("category", "slice", "mode", "orientation", "parse_status", "by")
"""Columns holding names with underscores (``web_design``, ``code_only``): shown with spaces.
A model's name is never changed."""
MISSING = "—"
_INTERVAL_HEADERS = {"rating": "interval", "rank": "rank set"}
"""The merged ``_low``/``_high`` column of these (others: ``<header> interval``)."""
LEFT_ALIGNED: tuple[str, ...] = (
    "model", "model_a", "model_b", "winner", "candidate", "category", "language", "environment",
    "slice", "annotator", "judge", "mode", "orientation", "metric", "parse_status", "fact",
    "value",
)  # fmt: skip
"""Text columns read from the left (names); numbers stay aligned on the right."""
_COUNTS = frozenset(
    {"n", "wins", "ties", "losses", "rank", "rank_ub", "total", "votes", "skips", "undone",
     "battles", "runs", "classes", "turns", "no code"}
)  # fmt: skip


def _header(name: str, headers: dict[str, str]) -> str:
    return headers.get(name) or HEADERS.get(name) or name.replace("_", " ")


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _formatter(frame: pd.DataFrame, name: str, percent: set[str]) -> Callable[[Any], str]:
    """How the values of one column read (missing values: "—")."""
    import pandas as pd

    column = frame[name]
    base = name.removesuffix("_low").removesuffix("_high")
    base = "rating" if name in ("ci_low", "ci_high") else base
    show: Callable[[Any], str]
    if name == "tstamp" and pd.api.types.is_numeric_dtype(column):
        # Seconds since 1970 (the votes' time stamps): "1.79e+09" says nothing to anyone.
        show = lambda v: f"{pd.Timestamp(v, unit='s', tz='UTC'):%Y-%m-%d %H:%M}"  # noqa: E731
    elif pd.api.types.is_datetime64_any_dtype(column):
        show = "{:%Y-%m-%d %H:%M}".format
    elif not pd.api.types.is_numeric_dtype(column):
        if name == "metric":  # judge metrics, named as in the other tables' headers
            show = lambda v: _header(str(v), {})  # noqa: E731
        elif name in _NAMED:
            from .charts import display_label

            show = lambda v: display_label(v).replace("_", " ")  # noqa: E731
        else:
            show = str
    elif base in percent:
        show = "{:.1%}".format
    elif base in _DECIMALS:
        show = f"{{:.{_DECIMALS[base]}f}}".format
    elif name == "p_value":
        show = "{:.2g}".format
    elif pd.api.types.is_integer_dtype(column) or _is_count(name) or _is_count(base):
        show = "{:,.0f}".format  # also a count read back from a CSV as floats (with blanks)
    else:
        show = "{:,.3f}".format
    return lambda value: MISSING if _missing(value) else show(value)


def _is_count(name: str) -> bool:
    """Whether a column holds counts or ranks, by its name (``n_games``, ``wins``, ``rank``)."""
    from .schema import STATUSES

    return name.startswith("n_") or name in _COUNTS or name in STATUSES


def show_table(
    frame: pd.DataFrame,
    *,
    percent: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    flags: dict[str, str] | None = None,
    left: Sequence[str] = LEFT_ALIGNED,
) -> Any:
    """``frame`` as a table people read: a pandas ``Styler`` (the frame is not changed).

    - headers from :data:`HEADERS` (``n_votes`` → ``votes``), others with spaces for
      underscores; ``headers`` adds or overrides names;
    - no row numbers; a missing value is "—";
    - shares (:data:`PERCENT_COLUMNS` and ``percent``) as percentages; ratings as whole
      numbers; columns of whole numbers (ranks, counts, also when read back from a CSV as
      floats) as integers; p-values with two significant digits;
    - ``ci_low``/``ci_high`` beside ``rating`` become one ``interval`` column
      (``1117 – 1160``), and ``x_low``/``x_high`` beside ``x`` one ``x interval`` column;
    - true/false columns read ``flags[column]`` (``thin``, ``biased`` by default, else
      ``yes``) or nothing;
    - names in category, slice, mode … columns with spaces (``web design``);
    - the text columns named in ``left`` aligned left.
    """
    import pandas as pd

    headers = dict(headers or {})
    flags = {"thin": "thin", "biased": "biased", **(flags or {})}
    percent_set = set(PERCENT_COLUMNS) | set(percent)
    merged = {
        name: ends
        for name in frame.columns
        for ends in [("ci_low", "ci_high") if name == "rating" else (f"{name}_low", f"{name}_high")]
        if all(end in frame.columns for end in ends)
    }
    hidden = {end for ends in merged.values() for end in ends}
    shown = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        if name in hidden:
            continue
        header = _header(name, headers)
        if pd.api.types.is_bool_dtype(frame[name]):
            mark = flags.get(name, "yes")
            shown[header] = [mark if v is True or v == True else "" for v in frame[name]]  # noqa: E712
            continue
        show = _formatter(frame, name, percent_set)
        shown[header] = [show(v) for v in frame[name]]
        if name in merged:
            low, high = merged[name]
            end = _formatter(frame, low, percent_set)
            title = _INTERVAL_HEADERS.get(name, f"{header} interval")
            shown[title] = [
                MISSING if _missing(a) or _missing(b) else f"{end(a)} – {end(b)}"
                for a, b in zip(frame[low], frame[high], strict=True)
            ]
    styler = shown.style.hide(axis="index").set_table_styles(
        # An interval or a name breaks across lines when a wide table is squeezed: not so.
        [{"selector": "td", "props": "white-space: nowrap"}]
    )
    names = [c for c in left if c in frame and not pd.api.types.is_numeric_dtype(frame[c])]
    return _aligned(styler, [_header(c, headers) for c in names])


def _aligned(styler: Any, lefts: Sequence[str]) -> Any:
    """``styler`` with the columns ``lefts`` (headers included) aligned left."""
    columns = list(styler.data.columns)
    lefts = [h for h in lefts if h in columns]
    if not lefts:
        return styler
    return styler.set_properties(subset=lefts, **{"text-align": "left"}).set_table_styles(
        [{"selector": f"th.col_heading.col{columns.index(h)}", "props": "text-align: left"}
         for h in lefts],
        overwrite=False,
    )  # fmt: skip


def show_ranks(
    long: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    base: str = "",
    min_votes: int = 0,
) -> Any:
    """The ranks of :func:`arena_kit.ratings.compare_slices`'s table, a column per slice.

    Models run in ``order`` (the overall leaderboard's); slices from the most votes, thin
    slices (fewer than ``min_votes`` votes) last and in grey. Ranks are integers and "—" where
    a model had no vote in a slice; a thin row's rank (too few decisive votes: no interval)
    is in grey parentheses, ``(3)``. With ``base`` (e.g. ``"all"``), ``Δ`` columns say how
    far each model moves against it (``+1``: one place up).
    """
    import pandas as pd

    from .analysis import rank_changes, slice_order
    from .charts import display_label

    slices = slice_order(long, min_votes=min_votes)
    if base in slices:
        slices = [base, *(s for s in slices if s != base)]
    ranks = rank_changes(long, base=base, order=order, slices=slices).set_index("model")
    thin = (
        long.pivot_table(index="model", columns="slice", values="thin", aggfunc="first")
        if "thin" in long
        else pd.DataFrame()
    )
    sizes = long.groupby("slice")["n_votes"].first()
    shown = pd.DataFrame(index=ranks.index)
    grey = pd.DataFrame(False, index=ranks.index, columns=[])
    for column in ranks.columns:
        values = ranks[column]
        if str(column).startswith("Δ "):
            header = "Δ " + display_label(column[2:]).replace("_", " ")
            shown[header] = [
                MISSING if _missing(v) else f"{int(v):+d}" if v else "0" for v in values
            ]
            grey[header] = False
            continue
        header = display_label(column).replace("_", " ")
        flagged = [
            bool(thin.at[m, column])
            if column in thin and m in thin.index and not _missing(thin.at[m, column])
            else False
            for m in ranks.index
        ]
        shown[header] = [
            MISSING if _missing(v) else f"({int(v)})" if t else f"{int(v)}"
            for v, t in zip(values, flagged, strict=True)
        ]
        grey[header] = [t or bool(sizes.get(column, min_votes) < min_votes) for t in flagged]
    shown = shown.reset_index()
    grey = grey.reset_index(drop=True)
    styler = shown.style.hide(axis="index").apply(
        lambda _: grey.reindex(columns=shown.columns, fill_value=False).map(
            lambda g: "color: #9e9e9e" if g else ""
        ),
        axis=None,
    )
    return _aligned(styler, ["model"])


def show_against_baseline(board: pd.DataFrame) -> Any:
    """AutoCodeArena's leaderboard (its ``autocodearena_leaderboard`` table) as people read it.

    The baseline's row (the model that plays no game: its counts are empty) says
    ``baseline`` where the others show their win rate: its 50 % is the scale's zero point, by
    definition, not a result.
    """
    import numpy as np

    played = [c for c in ("n_games", "n_prompts") if c in board]
    baseline = (
        board[played].isna().all(axis=1).to_numpy(bool) if played else np.zeros(len(board), bool)
    )
    rates = [c for c in board.columns if c.startswith("win_rate")]
    styler = show_table(board.assign(**{c: board[c].mask(baseline) for c in rates}))
    if "win_rate" in board:
        styler.data.loc[baseline, _header("win_rate", {})] = "baseline"
    return styler


def fold(content: Any, summary: str, *, unfolded: bool = False) -> Any:
    """``content`` (a table, a ``Styler`` or HTML text) under a one-line ``summary`` that
    folds and unfolds it (``unfolded``: open at first, e.g. for a short table): long detail
    stays one click away, without a script (reports open offline)."""
    import html

    from IPython.display import HTML

    if hasattr(content, "to_html"):
        content = content.to_html()
    state = " open" if unfolded else ""
    return HTML(f"<details{state}><summary>{html.escape(summary)}</summary>{content}</details>")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _commit() -> str | None:
    """The repository's commit when arena_kit runs from a checkout; None when installed (a
    site-packages folder may sit inside some other repository, whose commit means nothing)."""
    checkout = Path(__file__).resolve().parent.parent
    if not (checkout / ".git").exists():
        return None
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("arena-kit", "pandas", "numpy", "scipy", "altair", "papermill", "nbconvert"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def export_html(notebook_path: Path, html_path: Path) -> Path:
    """Export an executed notebook to HTML with code cells hidden, for offline reading."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="arena_report",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    notebook = nbformat.read(str(notebook_path), as_version=4)
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": "arena-kit report"}}
    )
    from .io import atomic_path

    with atomic_path(html_path) as temporary:
        temporary.write_text(body, encoding="utf-8")
    return html_path


def _input_location(location: str | Path) -> Any:
    """An input's absolute path; a PostgreSQL store's URL as given (not a path)."""
    from .store import is_postgres_url

    text = os.fspath(location)
    return text if is_postgres_url(text) else Path(text).resolve()


def _check_inputs(votes: Any, tables: dict[str, Any]) -> Any:
    """The votes, after checking every input (errors name the file, row and value); a
    table may be read from a store (a live session's holds them all)."""
    from .datasets import read_table

    frame = load_votes(votes)
    for table, path in tables.items():
        if path is not None:
            read_table(path, table)
    return frame


def _make_folder(parent: Path, name: str) -> Path:
    """A new, empty folder in ``parent`` named after ``name``, with a random suffix.

    Unlike :func:`tempfile.mkdtemp` (always 0700) it gets the mode any new folder gets (0777
    less the umask): the report folder is this one, moved into place.
    """
    for _ in range(100):
        folder = parent / f".{name}.building-{secrets.token_hex(4)}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise OutputExistsError(f"{parent}: no free name for a temporary folder")  # pragma: no cover


def _report_files(manifest: Any) -> Callable[[str], bool] | None:
    """Whether a file (relative path) is one an earlier report wrote, as its manifest tells;
    None when the manifest is not one of an arena-kit report."""
    if not isinstance(manifest, dict):
        return None
    if manifest.get("kind") == REPORT_KIND and isinstance(manifest.get("files"), list):
        names = {str(name) for name in manifest["files"]}
        return names.__contains__
    versions = manifest.get("versions")
    if set(manifest) >= _LEGACY_KEYS and isinstance(versions, dict) and "arena-kit" in versions:
        # A report from before manifests listed their files: the report layout decides.
        return lambda relative: any(fnmatch.fnmatch(relative, p) for p in _LAYOUT)
    return None


def _foreign_files(out: Path, own: Callable[[str], bool]) -> list[str]:
    """Files and links under ``out`` that the report did not write (never following links)."""
    foreign = []
    for directory, folders, files in os.walk(out):
        base = Path(directory).relative_to(out)
        entries = files + [f for f in folders if (Path(directory) / f).is_symlink()]
        foreign += [(base / n).as_posix() for n in entries if not own((base / n).as_posix())]
    return sorted(foreign)


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


def _never_replaced(out: Path, keep: Sequence[str | Path]) -> str | None:
    """Why ``out`` must not be replaced even with ``force`` (None when it may be)."""
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        return "it is the root or home folder"
    if resolved == cwd or resolved in cwd.parents:
        return "it holds the current folder"
    for path in keep:
        if resolved in Path(path).resolve().parents:
            return f"it holds the input {path}"
    return None


def check_out(out: str | Path, *, force: bool = False, keep: Sequence[str | Path] = ()) -> None:
    """Refuse to write a report where it would destroy what is not an earlier report.

    ``out`` may be missing, an empty folder, or an earlier arena-kit report (its
    ``manifest.json`` says so, and it holds only the report's own files); with ``force`` any
    other folder is replaced too, unless it is the root or home folder, holds the current
    folder or one of the ``keep`` paths (the report's inputs). A file, a link or anything else
    at ``out`` is always refused.

    Raises
    ------
    OutputExistsError
        ``out`` is a file, or a folder that is not an earlier report (or holds other files)
        and ``force`` is false or cannot help. The message names what is there and the fix.
    """
    out = Path(out)
    if not os.path.lexists(out):
        return
    fix = "choose another --out, or move it away first"
    if out.is_symlink() or not out.is_dir():
        kind = "a link" if out.is_symlink() else "a file"
        raise OutputExistsError(f"{out}: is {kind}, not a report folder; left as it is. Fix: {fix}")
    if not any(out.iterdir()):
        return
    problem = _not_a_report(out)
    if problem is None:
        return
    if not force:
        raise OutputExistsError(
            f"{out}: {problem}; nothing was changed. Fix: {fix}, or pass --force (force=True) "
            "to replace it and delete its files"
        )
    reason = _never_replaced(out, keep)
    if reason is not None:
        raise OutputExistsError(f"{out}: not replaced, even with --force: {reason}. Fix: {fix}")


def _not_a_report(out: Path) -> str | None:
    """Why the folder ``out`` is not an earlier report holding only its own files, or None."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        manifest = None
    own = _report_files(manifest)
    if own is None:
        shown = _listed(sorted(p.name for p in out.iterdir()))
        return (
            "the folder exists and is not an arena-kit report (no manifest.json saying so; "
            f"it holds {shown})"
        )
    foreign = _foreign_files(out, own)
    if foreign:
        return (
            "an earlier report, but it also holds files the report did not write "
            f"({_listed(foreign)})"
        )
    return None


def _declared_parameters(notebooks: Sequence[str]) -> dict[str, set[str]]:
    """Each notebook's parameter names (its cell tagged ``parameters``)."""
    import papermill as pm

    declared: dict[str, set[str]] = {}
    for name in notebooks:
        source = NOTEBOOKS_DIR / name
        if not source.exists():
            raise ReportError(f"notebook {source} does not exist")
        declared[name] = set(pm.inspect_notebook(str(source)))
    return declared


def run(
    votes: str | Path,
    out: str | Path,
    *,
    responses: str | Path | None = None,
    executions: str | Path | None = None,
    battles: str | Path | None = None,
    prompts: str | Path | None = None,
    notebooks: Sequence[str] | None = None,
    seed: int = 0,
    n_bootstrap: int = 100,
    min_votes: int = 50,
    progress: bool = True,
    filters: dict[str, str] | None = None,
    judges: bool | str = False,
    parameters: dict[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Execute the analysis notebooks on ``votes`` and write the report folder ``out``.

    Parameters
    ----------
    votes
        A votes file or vote store.
    out
        The report folder: missing, empty or an earlier report (replaced as a whole on
        success; untouched on failure). Anything else is refused before any work starts.
    responses, executions, battles, prompts
        Optional tables, passed to every notebook (:data:`DATA_PARAMETERS`). ``executions``
        need the ``responses`` whose ``execution_id`` links each answer to its run (as
        :func:`arena_kit.execution.execute_responses` returns them); they give the report its
        "Does the code run?" section.
    notebooks
        Notebook file names in ``notebooks/``, run in order. Default: ``01_execute`` when
        ``responses`` are given without ``executions`` (the sandbox runs them, cached, and the
        later notebooks get the responses linked to those runs), then
        :data:`ANALYSIS_NOTEBOOKS`.
    seed, n_bootstrap, min_votes
        Passed to every notebook: the same inputs and seed give the same numbers.
    progress
        Show a progress bar over the notebooks.
    judges
        Also run :data:`JUDGE_NOTEBOOKS` (before the summary, which then shows their tables):
        ``True`` or ``"yours"`` judges these votes' battles by their ``responses`` (needed);
        ``"bundled"`` the bundled real battles against their SIMULATED votes (the offline
        demo; the report's own inputs are not used there).
    filters
        Keep only votes whose column equals the value (``{"category": "web_design"}``); a
        filter that leaves no vote is an error.
    parameters
        Extra notebook parameters.
    force
        Replace a folder at ``out`` even when it is not an earlier report (its files are
        deleted). A file at ``out`` is refused even so.

    Returns
    -------
    Path
        ``out/report.html``.

    Raises
    ------
    OutputExistsError
        ``out`` is a file, or a folder that is not an earlier report and ``force`` is false.
    ArenaDataError
        A bad input (the message names the file, line and fix), executions without their
        responses, or ``judges`` on your data without responses.
    ReportError
        A notebook failed.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from .io import write_frame
    from .notebook_runner import execute_notebook

    judged_on = _judges_on(judges)
    out = Path(out).absolute()
    given = {
        "responses": responses,
        "executions": executions,
        "battles": battles,
        "prompts": prompts,
    }
    inputs = [p for p in (votes, *given.values()) if p]
    check_out(out, force=force, keep=inputs)  # before any work: a refusal costs nothing
    if executions and not responses:
        raise ArenaDataError(
            "executions given without the responses they ran",
            source=str(executions),
            fix="pass --responses too: the responses whose execution_id names each answer's run "
            "(as execute_responses() returns them)",
        )
    if judged_on == "yours" and not responses:
        raise ArenaDataError(
            "--judges judges the battles of your votes by their answers, and no responses "
            "were given",
            source=str(votes),
            fix="pass --responses (the answers the votes are about), or --judges bundled for "
            "the judges' demo on the bundled real battles",
        )
    votes_path = _input_location(votes)
    paths = {table: _input_location(path) if path else None for table, path in given.items()}
    frame = _check_inputs(votes_path, paths)
    frame = apply_filters(frame, filters or {}, source=str(votes_path))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputExistsError(
            f"{out}: its folder cannot be made ({error.strerror or error}). Fix: choose "
            "another --out (a part of the path may be a file)"
        ) from None
    building = _make_folder(out.parent, out.name)
    try:
        (building / "notebooks").mkdir()
        # The notebooks read the (filtered) votes the report was made from, kept with it.
        used_votes = write_frame(frame, building / "inputs" / "votes.parquet")
        if notebooks is None:
            notebooks = list(ANALYSIS_NOTEBOOKS)
            if responses and not executions:
                notebooks.insert(0, EXECUTE_NOTEBOOK)
            if judged_on:
                notebooks[-1:-1] = JUDGE_NOTEBOOKS
        common: dict[str, Any] = {
            "votes_path": str(used_votes),
            **{f"{table}_path": str(path) if path else "" for table, path in paths.items()},
            "tables_dir": str(building / "tables"),
            "seed": seed,
            "n_bootstrap": n_bootstrap,
            "min_votes": min_votes,
            **(parameters or {}),
        }
        declared = _declared_parameters(notebooks)
        unknown = sorted(set(parameters or {}) - set().union(*declared.values()))
        if unknown:
            raise ReportError(
                f"no notebook of the report takes the parameter(s) {', '.join(unknown)}; "
                f"they take: {', '.join(sorted(set().union(*declared.values())))}"
            )
        timings: dict[str, float] = {}
        steps = tqdm(
            list(notebooks), desc="report", unit="notebook", disable=not progress, position=0
        )
        for name in steps:
            steps.set_postfix_str(name)
            values = dict(common)
            if name == EXECUTE_NOTEBOOK and responses and not executions:
                # 01_execute runs the responses and writes both tables; every later notebook
                # reads the runs and the responses linked to them (execution_id filled).
                values["executions_path"] = str(building / "inputs" / "executions.parquet")
                values["linked_responses_path"] = str(building / "inputs" / "responses.parquet")
            if name in JUDGE_NOTEBOOKS and judged_on == "bundled":
                values.update(dict.fromkeys(DATA_PARAMETERS, ""))
            started = time.perf_counter()
            try:
                execute_notebook(
                    NOTEBOOKS_DIR / name,
                    building / "notebooks" / name,
                    # Only what it declares: papermill warns about every other one.
                    parameters={k: v for k, v in values.items() if k in declared[name]},
                    cwd=NOTEBOOKS_DIR,
                    progress=progress,
                )
            except pm.PapermillExecutionError as error:
                raise ReportError(
                    f"notebook {name} failed in cell {error.exec_count} "
                    f"({error.ename}: {error.evalue})\n" + "\n".join(error.traceback)
                ) from None
            timings[name] = round(time.perf_counter() - started, 2)
            if "linked_responses_path" in values:
                common["executions_path"] = values["executions_path"]
                common["responses_path"] = values["linked_responses_path"]
        export_html(building / "notebooks" / "report.ipynb", building / "report.html")
        manifest: dict[str, Any] = {
            "kind": REPORT_KIND,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "inputs": {
                str(p): _sha256(Path(p))
                for p in (votes_path, *paths.values())
                if p and Path(p).is_file()
            },
            "n_votes": len(frame),
            "filters": filters or {},
            "judges": judged_on,
            # Paths inside the report folder, relative to it.
            "parameters": {
                key: (
                    Path(value).relative_to(building).as_posix()
                    if isinstance(value, str) and building in Path(value).parents
                    else value
                )
                for key, value in common.items()
            },
            "versions": _versions(),
            "toolchains": _toolchains(),
            "commit": _commit(),
            "notebooks": list(notebooks),
            "seconds_per_notebook": timings,
        }
        manifest["files"] = sorted(
            [*(p.relative_to(building).as_posix() for p in building.rglob("*") if p.is_file()),
             "manifest.json"]
        )  # fmt: skip
        (building / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        check_out(out, force=force, keep=inputs)  # again: something may have appeared since
        _replace_dir(building, out)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return out / "report.html"


def _judges_on(judges: bool | str | None) -> str | None:
    """``judges=`` as one of :data:`JUDGES_ON`, or None for no judges."""
    if judges is None or judges is False:
        return None
    if judges is True:
        return "yours"
    if judges in JUDGES_ON:
        return str(judges)
    raise ArenaKitError(f"judges must be True, False or one of {', '.join(JUDGES_ON)}: {judges!r}")


def apply_filters(votes: pd.DataFrame, filters: dict[str, str], *, source: str) -> pd.DataFrame:
    """Keep the votes whose ``column == value`` for every filter; refuse an empty result."""
    for column, value in filters.items():
        if column not in votes.columns:
            raise ArenaDataError(
                f"cannot filter on unknown column {column!r}",
                source=source,
                fix=f"use one of {', '.join(map(str, votes.columns))}",
            )
        present = sorted(str(v) for v in votes[column].dropna().unique())
        votes = votes[(votes[column] == value).to_numpy(bool)]
        if votes.empty:
            raise ArenaDataError(
                f"the slice {column}={value!r} has no votes",
                source=source,
                fix=f"values present: {', '.join(present[:20]) or 'none'}",
            )
    return votes.reset_index(drop=True)


def _toolchains() -> dict[str, str]:
    """Versions of the sandbox's toolchains, when the sandbox can tell them."""
    try:
        from .sandbox import runtime_versions  # type: ignore[attr-defined]
    except ImportError:
        return {}
    try:
        return dict(runtime_versions())
    except Exception as error:  # noqa: BLE001 - a manifest must not fail on a missing toolchain
        return {"error": str(error)}


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``; an existing ``target`` is swapped out, then removed.

    Only after :func:`check_out` accepted ``target`` (an earlier report, or ``force``).
    """
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``arena-kit report``: see :func:`run`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="arena-kit report",
        description="Run the analysis notebooks on a votes file or store; write an offline "
        "HTML report, the executed notebooks, CSV tables and a manifest into --out.",
    )
    parser.add_argument("--votes", required=True, help="votes file or vote store")
    parser.add_argument(
        "--responses",
        help="responses table (optional; without --executions their code is run, cached)",
    )
    parser.add_argument(
        "--executions",
        help="executions table (optional; needs the --responses linked to them by execution_id)",
    )
    parser.add_argument("--battles", help="battles table (optional; for the judges)")
    parser.add_argument("--prompts", help="prompts table (optional; for the judges)")
    parser.add_argument(
        "--out",
        required=True,
        help="report folder to write: new, empty or an earlier report (which is replaced)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace --out even when it is a folder that is not an earlier report "
        "(its files are deleted)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-bootstrap", type=int, default=100)
    parser.add_argument("--min-votes", type=int, default=50)
    parser.add_argument(
        "--judges",
        nargs="?",
        const="yours",
        choices=JUDGES_ON,
        help="also run BigCodeReward and AutoCodeArena: on your votes and --responses "
        "(--judges), or on the bundled real battles and their SIMULATED votes "
        "(--judges bundled)",
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only these votes (repeatable), e.g. --filter category=web_design",
    )
    args = parser.parse_args(argv)
    filters = {}
    for item in args.filter:
        column, sep, value = item.partition("=")
        if not sep or not column:
            parser.error(f"--filter takes COLUMN=VALUE, got {item!r}")
        filters[column] = value
    try:
        html = run(
            args.votes,
            args.out,
            responses=args.responses,
            executions=args.executions,
            battles=args.battles,
            prompts=args.prompts,
            seed=args.seed,
            n_bootstrap=args.n_bootstrap,
            min_votes=args.min_votes,
            filters=filters,
            judges=args.judges,
            force=args.force,
        )
    except (ArenaKitError, ValueError) as error:
        print(f"arena-kit report: error: {error}", file=sys.stderr)
        return 1
    print(f"report: {html}")
    return 0
