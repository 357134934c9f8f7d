"""``python -m arena_kit`` is the ``arena-kit`` command."""

from .cli import main

raise SystemExit(main())
