"""Put markup first in a page's ``<head>``, whatever the page's text says.

A content-security policy in ``<meta http-equiv>`` counts only inside the real ``<head>`` and
only for what follows it, and a storage shim must run before the page's own scripts. Finding
"the ``<head>`` tag" in untrusted text is a losing game (``<!-- <head> -->``, ``<header>``,
``'<head>'`` in a script), so the page is not searched: the markup is written *before* the
page's text, inside a ``<html><head>`` of our own. The HTML parser then ignores the page's own
``<head>`` start tag (a parse error once a head exists), merges the attributes of its
``<html>`` tag into ours, and still puts its ``<title>``, ``<style>``, ``<meta>``, ``<link>``
and ``<script>`` into our head, after the markup. Nothing the page contains can put an
element before the markup.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["prepend_to_head", "prepend_to_head_bytes"]

# What the parser's "initial" insertion mode lets through before a doctype still counts:
# whitespace, comments (with the tokenizer's own ends: "<!-->", "<!--->", "--!>") and the
# bogus comments "<?...>", "<!...>" and "</...>" (an end tag that starts with no letter).
_BEFORE_DOCTYPE = re.compile(
    r"[\t\n\f\r ]+|<!--(?:-?>|.*?--!?>)|<!(?!--|doctype)[^>]*>|<\?[^>]*>|</(?![a-z])[^>]*>",
    re.ASCII | re.IGNORECASE | re.DOTALL,
)
# Every state of the tokenizer's DOCTYPE token ends at the first ">", so this is exactly one
# token: copied in front of the markup, the page's text cannot ride along with it.
_DOCTYPE = re.compile(r"<!doctype[^>]*>", re.ASCII | re.IGNORECASE)


def _leading_doctype(page: str) -> re.Match[str] | None:
    # A loop, not one regex with a repeated group: that backtracks exponentially on long runs
    # of whitespace in front of something that is not a doctype.
    position = 0
    while skipped := _BEFORE_DOCTYPE.match(page, position):
        position = skipped.end()
    return _DOCTYPE.match(page, position)


def prepend_to_head(page: str, markup: str) -> str:
    """``page`` with ``markup`` as the first thing the HTML parser puts in its ``<head>``.

    Parameters
    ----------
    page : str
        A whole document or a fragment, untrusted: it is never searched for its ``<head>``.
    markup : str
        Head content we trust (a ``<meta>``, a ``<script>``), complete in itself.

    Returns
    -------
    str
        ``<!DOCTYPE …><html><head>`` + ``markup`` + the page, where the doctype is the page's
        own (taken out of the page) or absent when the page has none.

    Notes
    -----
    The page's doctype is kept rather than replaced by ``<!DOCTYPE html>``: a doctype counts
    only before everything else, and the doctype (or its absence) decides between standards
    and quirks mode, so moving it first keeps the page's layout (``srcdoc`` documents are
    always in standards mode anyway). Our head is left open: the page's head content then
    stays "in head" as the parser would have had it, and Chromium keeps looking for the
    page's ``<meta charset>`` past its first 1024 bytes only while it is still in a head.
    A leading byte-order mark is dropped: in front of our text it would be a character, and
    a string has no encoding left for it to announce. The page's own ``<head>`` attributes
    are lost (the parser ignores a second head start tag).
    """
    page = page.removeprefix("\ufeff")
    doctype = _leading_doctype(page)
    if doctype is None:
        return f"<html><head>{markup}{page}"
    rest = page[: doctype.start()] + page[doctype.end() :]
    return f"{doctype.group(0)}<html><head>{markup}{rest}"


_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def prepend_to_head_bytes(page: bytes, markup: str) -> bytes:
    """:func:`prepend_to_head` for an encoded page (an HTTP response body).

    A byte-order mark decides the encoding before anything else in the browser, so it stays
    in front: a UTF-16 page is decoded and encoded back in its own byte order; any other page
    is taken as ASCII-compatible (UTF-8, windows-1252, …), the encodings in which our ASCII
    ``markup`` reads the same. Such a page goes through latin-1, which maps every byte to one
    character and back, so the page's bytes come out unchanged whatever its encoding.
    """
    if not markup.isascii():
        raise ValueError("markup for an encoded page must be ASCII (its encoding is unknown)")
    for bom, codec in _UTF16:
        if page.startswith(bom):
            body = page[len(bom) :]
            try:
                text = body.decode(codec, "surrogatepass")
            except UnicodeDecodeError:  # an odd last byte: the page's bytes stay as they are
                return bom + prepend_to_head("", markup).encode(codec) + body
            return bom + prepend_to_head(text, markup).encode(codec, "surrogatepass")
    bom = codecs.BOM_UTF8 if page.startswith(codecs.BOM_UTF8) else b""
    text = page[len(bom) :].decode("latin-1")
    return bom + prepend_to_head(text, markup).encode("latin-1")
