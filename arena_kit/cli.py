"""The ``arena-kit`` command: ``demo``, ``report``, ``setup``, ``notebooks``, ``execute``,
``label`` and ``store``."""

from __future__ import annotations

import argparse
import sys

from . import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="arena-kit",
        description="Judge code-generation models by running their code: reports, labeling, "
        "judges, rankings (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"arena-kit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="run the demo on the repository's bundled data and print where the result is",
    )
    commands.add_parser(
        "report",
        help="run the analysis notebooks on your votes and write an HTML report",
        add_help=False,
    )
    setup = commands.add_parser(
        "setup",
        help="prepare this machine: the sandbox's runtime and the web cache; name the system "
        "tools that are missing",
    )
    setup.add_argument(
        "--system",
        action="store_true",
        help="also install the missing system packages with apt-get (as root)",
    )
    notebooks = commands.add_parser(
        "notebooks", help="copy the workbench's notebooks into a folder, to open in JupyterLab"
    )
    notebooks.add_argument("folder", help="where to copy them (made if missing)")
    commands.add_parser(
        "label",
        help="serve the labeling session to annotators' browsers (--serve, through Voila)",
        add_help=False,
    )
    commands.add_parser(
        "execute",
        help="run a responses table's answers on a Dask cluster (or a local one), resumably",
        add_help=False,
    )
    commands.add_parser(
        "store",
        help="copy, merge or export vote stores (SQLite files, PostgreSQL URLs)",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "store":
        from .store_cli import main as store_main

        return store_main(rest)
    if args.command == "execute":
        from .cluster import main as execute_main

        return execute_main(rest)
    if args.command == "report":
        from .report import main as report_main

        return report_main(rest)
    if args.command == "label":
        from .serve import main as label_main

        return label_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        from .demo import run_demo

        return run_demo()
    if args.command == "setup":
        from .machine_setup import run_setup

        return run_setup(install_system=args.system)
    if args.command == "notebooks":
        from .errors import ArenaKitError
        from .resources import copy_notebooks

        try:
            copies = copy_notebooks(args.folder)
        except (ArenaKitError, OSError) as error:
            print(f"arena-kit notebooks: error: {error}", file=sys.stderr)
            return 1
        for copy in copies:
            print(copy)
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
