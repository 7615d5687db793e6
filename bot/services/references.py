"""Paper references in free text: arXiv ids, arXiv links, Hugging Face paper links.

For "Find paper" on a chat message: people paste ids and links into sentences, markdown
links and Slack's <url|label> forms alike.
"""

from __future__ import annotations

import re

from bot.papers import normalize_arxiv_id

# Whitespace, brackets and the separators of markdown and Slack links end a token; what
# wraps a token (quotes, a full stop) normalize_arxiv_id takes off itself.
_SPLIT = re.compile(r"[\s()\[\]<>|]+")
# Only what names an arXiv id in a form people write: a bare new-style id, "arXiv:" and
# old-style ids, or a link to arxiv.org or huggingface.co/papers.
_LOOKS_LIKE = re.compile(
    r"\d{4}\.\d{4,5}|arxiv:|arxiv\.org/|huggingface\.co/papers/|^[a-z-]+(\.[A-Z]{2})?/\d{7}",
    re.IGNORECASE,
)


def find_references(text: str) -> list[str]:
    """The distinct arXiv ids `text` names (bare, "arXiv:", or in links), in order."""
    out: list[str] = []
    for token in _SPLIT.split(text):
        if not token or not _LOOKS_LIKE.search(token):
            continue
        arxiv_id = normalize_arxiv_id(token)
        if arxiv_id is not None and _plausible(arxiv_id) and arxiv_id not in out:
            out.append(arxiv_id)
    return out


def _plausible(arxiv_id: str) -> bool:
    """A new-style id starts with YYMM: "2024.1234" in a sentence is a number, not a paper."""
    if "/" in arxiv_id:
        return True
    return 1 <= int(arxiv_id[2:4]) <= 12


def title_in(text: str) -> str | None:
    """What could be a paper title in `text`: its first line with words, if short enough."""
    for line in text.splitlines():
        words = " ".join(line.split()).strip(" \"'“”‘’«»*_`>#-")
        if len(words) >= 3:
            return words
    return None
