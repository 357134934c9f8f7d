"""``python -m arena_kit.sandbox``: ``prime`` (warm caches), ``samples`` (run the samples)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arena_kit.sandbox", description=__doc__)
    parser.add_argument("command", choices=["prime", "samples", "backends", "image"])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--flavor", default="ci", choices=["ci", "full"])
    parser.add_argument("--base-image", default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "prime":
        from .prime import prime_runtime

        built = prime_runtime()
        print("arena-kit: primed " + (", ".join(built) if built else "nothing (all warm)"))
        return 0
    if args.command == "image":
        from .docker_image import build_image
        from .dockerd import shared_engine, stop_shared_engine

        shared_engine()
        try:
            tag = build_image(args.flavor, base_image=args.base_image, rebuild=args.rebuild)
        finally:
            stop_shared_engine()
        print(f"arena-kit: image {tag} ready")
        return 0
    if args.command == "backends":
        from .backend import available_backends

        for name, reason in available_backends().items():
            print(f"{name}: {'available' if reason is None else reason}")
        return 0
    from .samples import run_samples

    table = run_samples(backend=args.backend)
    print(table.to_string(index=False))
    return 0 if (table["status"] == table["expected"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
