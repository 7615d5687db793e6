"""Score a folded query against one title's folded forms, 0–100."""

from __future__ import annotations

from rapidfuzz import fuzz

from bot.lookup.text import TitleForms

# Why a blend and not WRatio alone: WRatio rates a short query against a long title by its best
# partial window, so "language models" scores 90 against thousands of titles, and it knows
# nothing of subtitles or names. Each view below answers one way people recall a title.
SUBSET_FLOOR = 0.85  # a query that is a subset of the title's words scores 85–100 by coverage
PREFIX_FLOOR = 0.9  # a query that starts the title (or its subtitle) scores 90–100 by coverage
PASTED_FLOOR = 0.85  # a query that starts with the whole title scores 85–100 by coverage
PASTED_MIN_RATIO = 1.5  # ...if it is at least this many times the title's length


def score(query: str, forms: TitleForms) -> float:
    """Return how well the folded `query` names the title with these `forms`."""
    full = forms.full
    best = fuzz.ratio(query, full)  # the whole title, typos and all
    best = max(best, fuzz.token_sort_ratio(query, full, processor=None))  # words reordered
    if forms.head:
        best = max(best, fuzz.ratio(query, forms.head), fuzz.ratio(query, forms.tail))
    elif forms.name:
        best = max(best, fuzz.ratio(query, forms.name))
    # Dropped words and first-words-only queries: every query word is in the title. Scale by
    # how much of the title the query covers so the title closest in length wins, and a bare
    # common phrase stays below a whole-title match.
    subset = fuzz.token_set_ratio(query, full, processor=None)
    best = max(best, _by_coverage(subset, len(query), len(full), SUBSET_FLOOR))
    # A title's opening words, as people remember it, outrank the same words found scattered.
    for part in (full, forms.tail):
        if len(query) < len(part):
            prefix = fuzz.ratio(query, part[: len(query)])
            best = max(best, _by_coverage(prefix, len(query), len(part), PREFIX_FLOOR))
    if len(query) >= PASTED_MIN_RATIO * len(full):
        # A pasted title followed by more text (the abstract). Only when clearly longer: a
        # query a word longer than one title is as likely the start of another.
        pasted = fuzz.ratio(query[: len(full)], full)
        best = max(best, pasted * (PASTED_FLOOR + (1 - PASTED_FLOOR) * len(full) / len(query)))
    return float(best)


def _by_coverage(raw: float, query_len: int, title_len: int, floor: float) -> float:
    """Scale a partial-match score by the share of the title the query covers."""
    if query_len > title_len:
        # The query holds words the title lacks: weak evidence, so no floor.
        return raw * title_len / query_len
    return raw * (floor + (1 - floor) * query_len / title_len)
