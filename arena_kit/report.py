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
    "warnings_as_notes",
    "TableWriter",
    "export_html",
    "apply_filters",
]

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
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

_TEMPLATES = Path(__file__).resolve().parent / "templates"

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
    files, validated (:func:`arena_kit.schema.validate`).
    """
    from .schema import validate

    def table(path: str | Path | None, name: str) -> pd.DataFrame | None:
        return validate(path, name) if path else None

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
    if path.suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        from .store import VoteStore

        return VoteStore(path).votes()
    from .datasets import read_votes

    return read_votes(path)


def data_banner(votes: pd.DataFrame) -> str:
    """A markdown line saying what the votes are; simulated votes are always called so."""
    sources = votes["source"].fillna("unknown").value_counts()
    parts = [f"{count:,} from {source}" for source, count in sources.items()]
    simulated = int(sources.get("simulated", 0))
    text = f"**{len(votes):,} votes** ({', '.join(parts)})."
    if simulated:
        share = simulated / len(votes)
        text = (
            f"> ⚠️ **SIMULATED DATA** — {share:.0%} of these votes were generated by "
            "`arena_kit.simulate` from known ratings, not cast by people.\n\n" + text
        )
    return text


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
    if notes:
        display(Markdown("\n".join(f"- ⚠️ {note}" for note in dict.fromkeys(notes))))


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=NOTEBOOKS_DIR.parent,
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


def _check_inputs(votes: Path, tables: dict[str, Path | None]) -> Any:
    """The votes, after checking every input (errors name the file, row and value)."""
    from .schema import validate

    frame = load_votes(votes)
    for table, path in tables.items():
        if path is not None:
            validate(path, table)
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
    votes_path = Path(votes).resolve()
    paths = {table: Path(path).resolve() if path else None for table, path in given.items()}
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
        steps = tqdm(list(notebooks), desc="report", unit="notebook", disable=not progress)
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
            source = NOTEBOOKS_DIR / name
            target = building / "notebooks" / name
            started = time.perf_counter()
            try:
                pm.execute_notebook(
                    str(source),
                    str(target),
                    # Only what it declares: papermill warns about every other one.
                    parameters={k: v for k, v in values.items() if k in declared[name]},
                    kernel_name="python3",
                    progress_bar=False,
                    cwd=str(NOTEBOOKS_DIR),
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
