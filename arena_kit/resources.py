"""The files that ship inside the package, found with :mod:`importlib.resources`.

A wheel of arena-kit holds everything its commands need besides your data: the report's
notebooks (``notebooks/``), the report's HTML template (``templates/``), the labelled
AutoCodeArena prompts the category classifier trains on (``autocodearena-v0/``), the machine's
set-up scripts (``scripts/``) and the demo samples (``sandbox/samples/``, ``web/samples/``).

In the repository, ``arena_kit/notebooks``, ``arena_kit/scripts`` and
``arena_kit/autocodearena-v0`` are symbolic links to the repository's own ``notebooks/``,
``scripts/`` and ``data/autocodearena-v0/``: there is one copy of each file, the one people open
and edit, and building the wheel copies the files the links point to (README, "Installing the
package"). The big demo data (the real battles, the Arena-Hard answers, the simulated votes)
stays in the repository's ``data/`` (:data:`arena_kit.datasets.DATA_DIR`).
"""

from __future__ import annotations

from pathlib import Path

from .errors import ArenaKitError

__all__ = ["package_path", "copy_notebooks"]


def package_path(*parts: str) -> Path:
    """The path of a file or folder shipped in the package, e.g. ``package_path("notebooks")``.

    Links are resolved, so in the repository this is the repository's own folder (a notebook's
    relative paths then mean what they mean when it is opened from ``notebooks/``).

    Raises
    ------
    ArenaKitError
        The package is not installed as files (e.g. imported from a zip archive): papermill,
        nbconvert and bash need real paths.
    """
    from importlib.resources import files

    resource = files("arena_kit").joinpath(*parts)
    if not isinstance(resource, Path):
        raise ArenaKitError(
            f"arena_kit/{'/'.join(parts)} is not a file on disk ({type(resource).__name__}): "
            "install arena-kit as files (pip install arena-kit), not as a zip archive"
        )
    return resource.resolve()


def copy_notebooks(folder: str | Path) -> list[Path]:
    """Copy the notebooks shipped in the package into ``folder`` (made if missing), to open in
    JupyterLab; returns the copies.

    Raises
    ------
    ArenaKitError
        ``folder`` already holds a notebook of the same name (nothing is copied then: a copy
        never replaces your edits).
    """
    import shutil

    target = Path(folder)
    sources = sorted(package_path("notebooks").glob("*.ipynb"))
    taken = [s.name for s in sources if (target / s.name).exists()]
    if taken:
        raise ArenaKitError(
            f"{target} already holds {', '.join(taken)}: nothing copied. Fix: choose another "
            "folder, or move those away first"
        )
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(source, target / source.name)) for source in sources]
