"""The title index as bytes, so that the next process reuses it instead of folding every title.

A one-shot `paperbot lookup "<title words>"` spent most of its time folding the 10,000 stored
titles (`text.title_forms`); the folded forms are stored instead (table `title_index`, see
`bot.storage.title_index_repo`) and the index is rebuilt from them in a fraction of that.

A snapshot is used only for the titles it was built from: its fingerprint hashes every
(id, title) in the order the database gave them, and the code that folds and files them, so
any new, renamed or deleted paper (or a new paperbot version) makes the next look-up build
afresh and store a new one. Rebuilt from the same entries in the same order, the index has
the same slots, postings and words as a fresh build, hence the same answers
(tests/test_lookup.py compares them).

JSON, zlib-compressed: data from a database is never unpickled; anything malformed is
ignored (a fresh build follows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

from bot.lookup import index as index_module
from bot.lookup import text as text_module
from bot.lookup.index import TitleIndex
from bot.lookup.text import TitleForms

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the layout below changes
KEY = "titles"  # the one row of table title_index


def _code_version() -> bytes:
    # What makes the stored forms: a changed fold or filing must not reuse old snapshots.
    sources = (text_module.__file__, index_module.__file__)
    return b"".join(Path(str(f)).read_bytes() for f in sources if f)


def fingerprint(titles: Iterable[tuple[str, str]]) -> str:
    """Hash (id, title) pairs in order, with the format and the index code: a snapshot's key."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(f"{FORMAT}\0".encode())
    digest.update(hashlib.blake2b(_code_version()).digest())
    for paper_id, title in titles:
        digest.update(paper_id.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(title.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def encode(index: TitleIndex) -> bytes | None:
    """The index's entries as compressed JSON; None if it cannot be rebuilt exactly."""
    entries = index.entries()
    if entries is None:
        return None
    rows = [
        [pid, title, f.full, f.head, f.tail, f.name, list(f.tokens)] for pid, title, f in entries
    ]
    text = json.dumps(
        {"format": FORMAT, "entries": rows}, ensure_ascii=False, separators=(",", ":")
    )
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def decode(data: bytes) -> TitleIndex | None:
    """The index `encode` gave these bytes for; None when they are not such a snapshot."""
    try:
        doc = json.loads(zlib.decompress(data).decode("utf-8", "surrogatepass"))
        if doc["format"] != FORMAT:
            return None
        return TitleIndex.from_entries(_entry(row) for row in doc["entries"])
    except (ValueError, TypeError, KeyError, zlib.error) as exc:
        log.warning("stored title index unreadable, building afresh: %s", exc)
        return None


def _entry(row: list[object]) -> tuple[str, str, TitleForms]:
    pid, title, full, head, tail, name, tokens = row
    strings = (pid, title, full, head, tail, name)
    if not all(isinstance(v, str) for v in strings) or not isinstance(tokens, list):
        raise TypeError("a snapshot row holds six strings and a list of words")
    if not all(isinstance(t, str) for t in tokens):
        raise TypeError("a snapshot's words are strings")
    # Interned as title_forms does: the titles share a few tens of thousands of words.
    forms = TitleForms(full, head, tail, name, tuple(sys.intern(t) for t in tokens))  # type: ignore[arg-type]
    return pid, title, forms  # type: ignore[return-value]
