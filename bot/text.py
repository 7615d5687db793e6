"""Text safety: the characters no user or paper text may carry into the core.

Users' clients and Hugging Face's data can both bring characters that either break storage
(NUL, lone surrogates: PostgreSQL and UTF-8 refuse them) or let text pose as something it is
not (bidirectional controls reorder what a reader sees, e.g. a title that reads backwards or
a query that looks harmless). They are removed once, where text enters: `clean` for what a
user typed (the core calls it for every command) and `clean_paper` for what is stored.
Renderers strip bidi controls again, as a defence for text that came another way.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bot.papers import Paper

# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the implicit
# marks (LRM, RLM, ALM), which are invisible and only ever needed for mixed-direction text.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; surrogate code
# points (in a Python str every one is unpaired: a valid pair is one code point).
_UNSAFE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}\ud800-\udfff]")


def clean(text: str) -> str:
    """Drop control characters, lone surrogates and bidi controls from `text`."""
    return _UNSAFE.sub("", text)


def strip_bidi(text: str) -> str:
    """Drop only the bidi controls (for renderers, whose text is otherwise clean)."""
    return _BIDI.sub("", text)


def _clean_optional(text: str | None) -> str | None:
    return clean(text) if text else text


def clean_paper(paper: Paper) -> Paper:
    """The paper with every text field cleaned (the same object when nothing changed)."""
    fields: dict[str, Any] = {
        "title": clean(paper.title),
        "abstract": clean(paper.abstract),
        "authors": tuple(clean(a) for a in paper.authors),
        "ai_keywords": tuple(clean(k) for k in paper.ai_keywords),
        "ai_summary": _clean_optional(paper.ai_summary),
        "organization": _clean_optional(paper.organization),
        "github_repo": _clean_optional(paper.github_repo),
        "project_page": _clean_optional(paper.project_page),
        "thumbnail": _clean_optional(paper.thumbnail),
    }
    if all(getattr(paper, name) == value for name, value in fields.items()):
        return paper
    return dataclasses.replace(paper, **fields)
