"""nbval on the tutorials: images are compared by their shape.

``pytest --nbval`` re-runs each tutorial and compares every output with the one committed
(text, tables, HTML), after ``sanitize.cfg`` has normalised the volatile parts. nbval itself
leaves image outputs out of that comparison unless it is run with ``--nbdime`` (its
``skip_compare`` lists ``image/png`` and ``image/jpeg``): a chart or a screenshot is not
byte-for-byte reproducible across font, renderer and browser versions. This file makes the
rule explicit and narrower: the **pixels** are not compared, but each cell must still show
the same number of images, in the same order and formats, with the same width and height. A
chart that gains or loses a row, or a screenshot of another size, fails with a diff like
any other output; the numbers a chart draws are compared through the tables printed next
to it. Outputs are compared as plain text first (their ``text/plain``), then in full, so that
a changed number is reported as a readable row-by-row diff.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


def _size(mime: str, data: str) -> tuple[int, int] | None:
    """(width, height) of a base64 image, read from its header; None if unreadable."""
    try:
        raw = base64.b64decode(data.replace("\n", ""))
    except (binascii.Error, ValueError):
        return None
    if mime == "image/png" and raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        width, height = struct.unpack(">II", raw[16:24])
        return width, height
    if mime == "image/gif" and raw[:4] == b"GIF8":
        width, height = struct.unpack("<HH", raw[6:10])
        return width, height
    if mime == "image/jpeg":
        at = 2
        while at + 9 < len(raw) and raw[at] == 0xFF:
            marker, length = raw[at + 1], struct.unpack(">H", raw[at + 2 : at + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", raw[at + 5 : at + 9])
                return width, height
            at += 2 + length
    return None


def image_shapes(outputs: Iterable[Mapping[str, Any]]) -> list[tuple[str, tuple[int, int] | None]]:
    """Every image of a cell's outputs, in order: (MIME type, (width, height))."""
    shapes = []
    for output in outputs:
        for mime, data in (output.get("data") or {}).items():
            if mime in IMAGE_TYPES:
                text = "".join(data) if isinstance(data, list) else str(data)
                shapes.append((mime, _size(mime, text)))
    return shapes


def _compare_with_image_shapes(cell: Any, compare: Callable[..., bool]) -> Callable[..., bool]:
    def compare_outputs(test: Any, ref: Any, skip_compare: Any = None) -> bool:
        skip = tuple(skip_compare or cell.parent.skip_compare)
        # Plain text first: a changed number then shows as a changed row of the plain-text
        # table; the HTML of the same table (compared next) diffs as one long string.
        if not compare(test, ref, (*skip, "text/html")) or not compare(test, ref, skip):
            return False
        want, got = image_shapes(ref), image_shapes(test)
        if want != got:
            cell.comparison_traceback.extend(
                [
                    " mismatch: images (MIME type, (width, height)) differ",
                    f"  <<<<<<<<<<<< Reference images from ipynb file:\n  {want}",
                    f"  ============ disagrees with newly computed (test) images:\n  {got}",
                ]
            )
            return False
        return True

    return compare_outputs


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from nbval.plugin import IPyNbCell

    for item in items:
        if isinstance(item, IPyNbCell):
            item.compare_outputs = _compare_with_image_shapes(item, item.compare_outputs)  # type: ignore[method-assign]
