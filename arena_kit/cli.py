"""The ``arena-kit`` command."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arena-kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo on the bundled data and print where it is")
    commands.add_parser(
        "report", help="run the analysis notebooks and write an HTML report", add_help=False
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "report":
        from .report import main as report_main

        return report_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        from .demo import run_demo

        return run_demo()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
