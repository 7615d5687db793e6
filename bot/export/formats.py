"""Saved papers as BibTeX, RIS and JSON files: only facts the store holds, nothing made up.

Hand-written on purpose: the libraries (bibtexparser, rispy) serialise fields but leave the
LaTeX escaping of titles to the caller, which is the only part here that takes care; both
formats are a few lines per entry otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.papers import ARXIV_ID_RE, Paper

# LaTeX's special characters, each with the text-mode command that prints it. Braces are
# escaped too: an unbalanced brace in a title would swallow the rest of the .bib file.
# Accented letters stay as Unicode: biber and bibtex8 read UTF-8 .bib files as they are.
_BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _BIBTEX_SPECIALS))
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9.:_-]")
# " and " separates BibTeX names, so one inside a name (an organisation) is braced.
_AND = re.compile(r"\band\b", re.IGNORECASE)


@dataclass(frozen=True)
class Format:
    name: str
    label: str  # as people write it
    extension: str
    media_type: str
    write: Callable[[Sequence[Paper]], str]


def one_line(text: str) -> str:
    """Collapse whitespace: titles and abstracts from feeds carry line breaks."""
    return " ".join(text.split())


def bibtex_escape(text: str) -> str:
    """Escape LaTeX specials in plain text for a BibTeX field value."""
    return _SPECIAL_RE.sub(lambda m: _BIBTEX_SPECIALS[m.group(0)], one_line(text))


def year_of(paper: Paper) -> int | None:
    """The year the paper appeared on arXiv, from its stored date or its new-style id."""
    if paper.published_at is not None:
        return paper.published_at.year
    if ARXIV_ID_RE.match(paper.id) and paper.id[:2].isdigit():
        # A new-style arXiv id starts with the year and month it was submitted (YYMM).
        return 2000 + int(paper.id[:2])
    return None


def published_day(paper: Paper) -> date | None:
    return paper.published_at.date() if paper.published_at is not None else None


def bibtex_key(paper: Paper) -> str:
    key = _KEY_UNSAFE.sub("", paper.id)
    return f"arxiv:{key}" if paper.arxiv_id else key


def _bib_name(name: str) -> str:
    name = bibtex_escape(name)
    return "{" + name + "}" if _AND.search(name) else name


def bibtex_entry(paper: Paper) -> str:
    fields: list[tuple[str, str]] = [("title", bibtex_escape(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(_bib_name(a) for a in paper.authors)))
    if (year := year_of(paper)) is not None:
        fields.append(("year", str(year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    if url := paper.arxiv_url or paper.url:
        # URLs go in verbatim: the url field is read by \url, which takes % and # as they are.
        fields.append(("url", url.replace("{", "%7B").replace("}", "%7D")))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{bibtex_key(paper)},\n{body}\n}}\n"


def to_bibtex(papers: Sequence[Paper]) -> str:
    """A .bib file, one @misc entry per paper (the type arXiv's own export uses)."""
    return "\n".join(bibtex_entry(p) for p in papers)


def ris_entry(paper: Paper) -> str:
    # UNPB (unpublished work): a preprint; RIS has no type of its own for one.
    lines = ["TY  - UNPB", f"TI  - {one_line(paper.title)}"]
    lines += [f"AU  - {one_line(a)}" for a in paper.authors]
    if (year := year_of(paper)) is not None:
        lines.append(f"PY  - {year}")
    if (day := published_day(paper)) is not None:
        lines.append(f"DA  - {day:%Y/%m/%d}")
    if paper.abstract:
        lines.append(f"AB  - {one_line(paper.abstract)}")
    if paper.arxiv_id:
        lines += [f"AN  - arXiv:{paper.arxiv_id}", "DB  - arXiv"]
    if url := paper.arxiv_url or paper.url:
        lines.append(f"UR  - {url}")
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"  # the RIS specification's line ends


def to_ris(papers: Sequence[Paper]) -> str:
    """A .ris file (Zotero, EndNote, Mendeley import it)."""
    return "\r\n".join(ris_entry(p) for p in papers)


def to_json(papers: Sequence[Paper]) -> str:
    """The papers in the stable shape of the CLI's --json output."""
    return json.dumps([p.to_json() for p in papers], ensure_ascii=False, indent=2) + "\n"


FORMATS = {
    f.name: f
    for f in (
        Format("bibtex", "BibTeX", "bib", "application/x-bibtex", to_bibtex),
        Format("ris", "RIS", "ris", "application/x-research-info-systems", to_ris),
        Format("json", "JSON", "json", "application/json", to_json),
    )
}
