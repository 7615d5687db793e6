"""The per-day search index gives exactly what `match_batch` gives on the window's papers.

Pure tests (no database): day indexes built from generated days, hundreds of generated
queries over every operator, compared with the engine over the same papers, reasons
included. The cache's freshness against the database is `test_search_cache.py`'s.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.matching.engine import Match, match_batch
from bot.papers import Paper
from bot.query import Query, QueryError, parse_query
from bot.search.cache import Window, _build
from bot.search.evaluate import typo_variants
from bot.storage.papers_repo import DayVersion

FIRST = date(2025, 3, 1)
DAYS = 40
VERSION = DayVersion(0, 0, datetime(2025, 1, 1, tzinfo=UTC), 0)

# Words chosen to exercise every rule: plurals, run-together spellings, hyphens, digits,
# acronyms, accents, and near-misses one typo away from each other.
_WORD_TEXT = (
    "diffusion difusion diffusions model models modal self supervised selfsupervised "
    "self-supervised data set dataset datasets LLM LLMs GPT-4 gpt4 3D reasoning reasonning "
    "agent agents vision language multi-modal multimodal multi modal chain of thought "
    "chain-of-thought Schölkopf naïve analyses analysis studies study video audio speech "
    "retrieval augmented generation RAG ViT LoRA lora low rank adaptation benchmark "
    "benchmarks graph networks network rain forecasting europe radar policy learning "
    "transformer transformers attention sparse sparsity robot robots navigation planning"
)
WORDS = _WORD_TEXT.split()
PUNCT = [" ", " ", " ", " ", ", ", ". ", " (", ") ", "-", ": ", "'s "]
AUTHORS = [
    "Yann LeCun",
    "Y. LeCun",
    "LeCun, Yann",
    "Kaiming He",
    "K. He",
    "Ada Lovelace",
    "Grace M. Hopper",
    "Laurens van der Maaten",
    "Jean-Pierre Dupont",
    "J. Dupont",
    "Bernhard Schölkopf",
    "Alan Turing Jr.",
]


def _text(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(rng.choice(WORDS))
        out.append(rng.choice(PUNCT))
    return "".join(out).strip()


def corpus(seed: int = 11) -> dict[date, list[Paper]]:
    """DAYS days of 0-12 papers; some papers are featured on two or three days."""
    rng = random.Random(seed)
    days: dict[date, list[Paper]] = {}
    made: list[Paper] = []
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        papers = []
        for k in range(rng.choice([0, 1, 3, 5, 8, 12])):
            papers.append(
                Paper(
                    id=f"2503.{d:03d}{k:02d}",
                    title=_text(rng, rng.randint(3, 9)),
                    abstract=_text(rng, rng.randint(0, 40)),
                    authors=tuple(rng.sample(AUTHORS, rng.randint(0, 3))),
                    ai_keywords=tuple(_text(rng, rng.randint(1, 3)) for _ in range(3)),
                    featured_on=(day,),
                    upvotes=rng.randrange(60),
                )
            )
        if made and rng.random() < 0.4:  # featured again
            papers.append(rng.choice(made))
        made += papers
        days[day] = papers
    return days


def queries(seed: int = 5, n: int = 400) -> list[Query]:
    rng = random.Random(seed)
    fields = ["", "", "", "title:", "abstract:", "keyword:"]
    names = ["LeCun", '"Yann LeCun"', '"Y. LeCun"', '"J. LeCun"', "He", '"K. He"', "Maaten"]
    names += ['"Jean-Pierre Dupont"', "Schölkopf", "scholkopf", '"Alan Turing"', "Hopper"]

    def term() -> str:
        r = rng.random()
        if r < 0.45:
            return rng.choice(fields) + rng.choice(WORDS)
        if r < 0.65:
            words = rng.sample(WORDS, rng.randint(2, 3))
            return rng.choice(fields) + '"' + " ".join(words) + '"'
        if r < 0.8:
            return "author:" + rng.choice(names)
        if r < 0.9:
            return f"upvotes{rng.choice(['>=', '<', '=', '>'])}{rng.randrange(50)}"
        return rng.choice(fields) + "(" + " OR ".join(rng.sample(WORDS, 2)) + ")"

    out: list[Query] = []
    while len(out) < n:
        parts = [term() for _ in range(rng.choice([1, 1, 2, 3]))]
        r = rng.random()
        if r < 0.2 and len(parts) > 1:
            text = " OR ".join(parts)
        elif r < 0.4:
            text = " ".join(parts) + f" -{term()}"
        elif r < 0.5:
            text = f"({' OR '.join(parts)}) NOT {rng.choice(WORDS)}"
        else:
            text = " ".join(parts)
        try:
            out.append(parse_query(text))
        except QueryError:
            continue
    return out


def window_of(days: dict[date, list[Paper]], first: date, last: date) -> Window:
    chosen = [d for d in sorted(days) if first <= d <= last and days[d]]
    built, vocab, alphabet = _build(
        chosen, {d: VERSION for d in chosen}, days, 1, frozenset(), frozenset()
    )
    return Window(built, vocab, alphabet)


def naive_all(
    days: dict[date, list[Paper]], first: date, last: date, queries: Sequence[Query]
) -> list[list[tuple[Paper, Match]]]:
    """Today's uncached path for each query: the window's papers, each once, `match_batch`.

    One batch for all queries: the engine matches each subscription on its own.
    """
    papers = list({p.id: p for d in sorted(days) if first <= d <= last for p in days[d]}.values())
    found = match_batch(papers, list(enumerate(queries)))
    by_id = {p.id: p for p in papers}
    out = []
    for i in range(len(queries)):
        pairs = [(by_id[m.paper_id], m) for m in found.get(i, [])]
        pairs.sort(key=lambda pm: (-pm[0].upvotes, pm[0].id))
        out.append(pairs)
    return out


def naive(days: dict[date, list[Paper]], first: date, last: date, query: Query) -> list:
    return naive_all(days, first, last, [query])[0]


DAYS_CORPUS = corpus()
QUERIES = queries()
WINDOWS = [(0, 0), (0, 6), (3, 17), (10, 39), (0, 39)]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_search_equals_match_batch_on_the_window(start: int, end: int) -> None:
    first, last = FIRST + timedelta(days=start), FIRST + timedelta(days=end)
    window = window_of(DAYS_CORPUS, first, last)
    matched = 0
    for query, expected in zip(QUERIES, naive_all(DAYS_CORPUS, first, last, QUERIES), strict=True):
        assert window.search(query) == expected, str(query)
        matched += bool(expected)
    distinct = {p.id for d, ps in DAYS_CORPUS.items() if first <= d <= last for p in ps}
    assert window.size == len(distinct)
    # The comparison means something: many queries match, and some do not.
    if end - start > 5:
        assert 0.2 * len(QUERIES) < matched < len(QUERIES)


def test_hand_picked_spellings_match_as_the_engine_does() -> None:
    day = FIRST
    papers = [
        Paper("2503.90001", "Self-Supervised Learning of Datasets", abstract="A data set."),
        Paper("2503.90002", "Selfsupervised chain of thought", abstract="GPT-4 and gpt4."),
        Paper("2503.90003", "Multi modal LLMs. Reasoning", authors=("LeCun, Yann",)),
        Paper("2503.90004", "Difusion models", abstract="Bernhard's naïve analyses"),
        Paper("2503.90005", "Nothing here", authors=("Y. LeCun", "Kaiming He"), upvotes=9),
    ]
    days = {day: [Paper(**{**p.__dict__, "featured_on": (day,)}) for p in papers]}
    window = window_of(days, day, day)
    for text in [
        "self-supervised",
        "selfsupervised",
        '"self supervised"',
        "dataset",
        '"data set"',
        "gpt-4",
        "GPT4",
        "multimodal",
        '"modal llm"',
        "chain-of-thought",
        "diffusion",
        '"diffusion"',
        "modal",
        "naive analysis",
        'author:"Y. LeCun"',
        'author:"J. LeCun"',
        "author:he upvotes>=9",
        '"llms reasoning"',
        "reasoning -title:multi",
    ]:
        query = parse_query(text)
        assert window.search(query) == naive(days, day, day, query), text


def test_typo_variants_find_every_word_one_edit_away() -> None:
    vocab = {"diffusion", "difusion", "diffusino", "diffusionx", "idffusion", "fusion", "diffusi"}
    vocab |= {"dıffusion"}  # a letter outside ASCII: the alphabet comes from the vocabulary
    alphabet = {c for w in vocab for c in w}
    found = typo_variants("diffusion", vocab, alphabet)
    assert found == {"diffusion", "difusion", "diffusino", "diffusionx", "idffusion", "dıffusion"}


def test_match_counts_of_many_queries_equal_the_engine() -> None:
    first, last = FIRST, FIRST + timedelta(days=DAYS - 1)
    window = window_of(DAYS_CORPUS, first, last)
    subs = list(enumerate(QUERIES[:100]))
    expected = {
        i: [p.id for p, _ in found]
        for i, found in enumerate(naive_all(DAYS_CORPUS, first, last, QUERIES[:100]))
        if found
    }
    assert window.matched_ids(subs) == expected
