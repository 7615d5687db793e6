"""Fuzzy title look-up: each kind of noise, no-match, ambiguity, updates and edge cases."""

from __future__ import annotations

import random
import re
import string
import threading
import time
import unicodedata
import zlib
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import App, build_app
from bot.lookup import (
    CONFIDENT_SCORE,
    MAX_QUERY_CHARS,
    MIN_SCORE,
    Hit,
    TitleIndex,
    fold_title,
    snapshot,
)
from bot.lookup.vocab import Vocabulary
from bot.papers import Paper
from bot.services.ingest import ingest_day, store
from bot.services.lookup import lookup_papers
from bot.sources.sample import load_sample_papers
from bot.storage.title_index_repo import TitleIndexRepo

TITLES = {
    "2412.17747": "Deliberation in Latent Space via Differentiable Cache Augmentation",
    "2505.14479": "Deliberation on Priors: Trustworthy Reasoning of Large Language Models on "
    "Knowledge Graphs",
    "2404.02041": "SelfPose3d: Self-Supervised Multi-Person Multi-View 3d Pose Estimation",
    "1712.01337": "Self-supervised Learning of Motion Capture",
    "2403.17124": "Grounding Language Plans in Demonstrations Through Counterfactual Perturbations",
    "2502.12002": "NaturalL2S: End-to-End High-quality Multispeaker Lip-to-Speech Synthesis with "
    "Differential Digital Signal Processing",
    "2502.15069": "Rare Disease Differential Diagnosis with Large Language Models at Scale: From "
    "Abdominal Actinomycosis to Wilson's Disease",
    "2503.00004": "Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical "
    "Surface Reconstruction",
    "2405.05768": "The Simons Observatory: Cryogenic Half Wave Plate Rotation Mechanism for the "
    "Small Aperture Telescopes",
    "2408.08252": "Derivative-Free Guidance in Continuous and Discrete Diffusion Models with Soft "
    "Value-Based Decoding",
    "2410.07133": "EvolveDirector: Approaching Advanced Text-to-Image Generation with Large "
    "Vision-Language Models",
    "2412.19437": "DeepSeek-V3 Technical Report",
    "2501.12948": "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement "
    "Learning",
    "2512.02556": "DeepSeek-V3.2: Pushing the Frontier of Open Large Language Models",
    "2505.09343": "Insights into DeepSeek-V3: Scaling Challenges and Reflections on Hardware for "
    "AI Architectures",
    "2505.23735": "ATLAS: Learning to Optimally Memorize the Context at Test Time",
    "2503.02197": "ATLaS: Agent Tuning via Learning Critical Steps",
    "2411.04890": "GUI Agents: A Survey",
    "2505.05474": "3D Scene Generation: A Survey",
    "2410.02724": "Large Language Models as Markov Chains",
    "2502.09992": "Large Language Diffusion Models",
    "1706.03762": "Attention Is All You Need",
}


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    return TitleIndex.build(TITLES.items())


@pytest.mark.parametrize(
    ("query", "paper_id"),
    [
        # typos, one and two per title
        ("Deliberation in Latnet Space via Differentiable Cache Augmentation", "2412.17747"),
        (
            "Diffeomorphic Mesh Deformaton via Efficient Optimal Transprot for Cortical Surface "
            "Reconstruction",
            "2503.00004",
        ),
        (
            "Grounding Langauge Plans in Demonstartions Through Counterfactual Perturbations",
            "2403.17124",
        ),
        # dropped words
        ("Grounding Language Plans Through Counterfactual Perturbations", "2403.17124"),
        (
            "Derivative-Free Guidance in Discrete Diffusion Models with Value-Based Decoding",
            "2408.08252",
        ),
        # word order
        ("Counterfactual Perturbations Grounding Language Plans in Demonstrations", "2403.17124"),
        (
            "Mesh Deformation Diffeomorphic via Optimal Efficient Transport for Cortical Surface "
            "Reconstruction",
            "2503.00004",
        ),
        # subtitle only
        ("Self-Supervised Multi-Person Multi-View 3d Pose Estimation", "2404.02041"),
        (
            "Cryogenic Half Wave Plate Rotation Mechanism for the Small Aperture Telescopes",
            "2405.05768",
        ),
        ("Incentivizing Reasoning Capability in LLMs via Reinforcement Learning", "2501.12948"),
        # the name or acronym only, in any case, with or without its hyphen, with a typo
        ("SelfPose3d", "2404.02041"),
        ("selfpose3d", "2404.02041"),
        ("SelfPos3d", "2404.02041"),
        ("EvolvDirectr", "2410.07133"),
        ("DeepSeek-V3", "2412.19437"),
        ("deepseek v3", "2412.19437"),
        ("deepseekv3", "2412.19437"),
        ("DeepSeek-V3.2", "2512.02556"),
        ("deepseek-r1", "2501.12948"),
        ("EvolveDirector", "2410.07133"),
        ("NaturalL2S", "2502.12002"),
        ("The Simons Observatory", "2405.05768"),
        # case, punctuation, apostrophes and accents
        (
            "DEEPSEEK-R1: INCENTIVIZING REASONING CAPABILITY IN LLMS VIA REINFORCEMENT LEARNING",
            "2501.12948",
        ),
        (
            "derivative free guidance in continuous and discrete diffusion models with soft value "
            "based decoding",
            "2408.08252",
        ),
        (
            "rare disease differential diagnosis with large language models at scale from "
            "abdominal actinomycosis to wilsons disease",
            "2502.15069",
        ),
        ("Rare Disease Differential Diagnosis with LLMs at Scale — Wilson’s Disease", "2502.15069"),
        ("Délibération in Latent Space via Differentiable Cache Augmentation!", "2412.17747"),
        # the first words, lower case
        ("deliberation in latent space", "2412.17747"),
        ("self-supervised learning of motion", "1712.01337"),
        ("attention is all you need", "1706.03762"),
    ],
)
def test_noisy_query_finds_one_title(index: TitleIndex, query: str, paper_id: str) -> None:
    best = index.best_match(query)
    assert best is not None, index.search(query)
    assert best.paper_id == paper_id
    assert best.title == TITLES[paper_id]
    assert CONFIDENT_SCORE <= best.score <= 100


@pytest.mark.parametrize(("paper_id", "title"), sorted(TITLES.items()))
def test_every_exact_title_is_its_own_best_match(
    index: TitleIndex, paper_id: str, title: str
) -> None:
    best = index.best_match(title)
    assert best == Hit(paper_id, title, 100.0)


@pytest.mark.parametrize(
    "query", ["nonsense query xyz", "qwertyuiop asdfghjkl", "zzzz", "lorem ipsum dolor sit amet"]
)
def test_nonsense_has_no_hits(index: TitleIndex, query: str) -> None:
    assert index.search(query) == []
    assert index.best_match(query) is None
    result = index.lookup(query)
    assert result.best is None and result.hits == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ATLAS", {"2505.23735", "2503.02197"}),
        ("a survey", {"2411.04890", "2505.05474"}),
        ("deliberation", {"2412.17747", "2505.14479"}),
    ],
)
def test_ambiguous_query_offers_a_short_list(
    index: TitleIndex, query: str, expected: set[str]
) -> None:
    result = index.lookup(query)
    assert result.best is None
    assert {hit.paper_id for hit in result.hits[: len(expected)]} == expected


def test_an_opening_several_titles_share_is_a_list_not_a_guess() -> None:
    # The shortest title scores highest by coverage; that is no reason to show it alone.
    index = TitleIndex.build(
        [
            ("a", "Selecting Influential Samples for Robotics"),
            (
                "b",
                "Selecting Influential Samples for Long Context Alignment via Homologous Models' "
                "Guidance and Contextual Awareness Measurement",
            ),
            ("c", "Aligning Vision Transformers with Sparse Attention"),
        ]
    )
    result = index.lookup("Selecting Influential Samples for")
    assert result.best is None
    assert {h.paper_id for h in result.hits[:2]} == {"a", "b"}
    # A whole title is still shown alone, though another title starts with it.
    whole = index.lookup("selecting influential samples for robotics").best
    assert whole is not None and whole.paper_id == "a"


def test_common_phrase_is_a_list_not_a_card(index: TitleIndex) -> None:
    result = index.lookup("large language models")
    assert result.best is None
    assert len(result.hits) >= 3
    assert all("large language" in fold_title(hit.title) for hit in result.hits[:3])


def test_hits_are_sorted_bounded_and_limited(index: TitleIndex) -> None:
    hits = index.search("deepseek", limit=3)
    assert len(hits) == 3
    assert all(hit.title.startswith("DeepSeek") for hit in hits)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(MIN_SCORE <= s <= 100 for s in scores)
    assert index.search("deepseek", limit=0) == []
    assert len(index.lookup("deepseek", limit=2).hits) == 2


@pytest.mark.parametrize("query", ["", "   ", "!!! ??? ...", "the of and", "a an the -- :"])
def test_query_of_only_stop_words_or_punctuation_has_no_hits(index: TitleIndex, query: str) -> None:
    assert index.search(query) == []
    assert index.best_match(query) is None


def test_very_long_query_is_cut_and_answers_fast(index: TitleIndex) -> None:
    title = TITLES["2412.17747"]
    start = time.perf_counter()
    hits = index.search(title + " " + "cache " * 100_000)
    assert time.perf_counter() - start < 1.0
    assert hits and hits[0].paper_id == "2412.17747"
    assert index.search("x" * (MAX_QUERY_CHARS * 50)) == []


def test_empty_index_answers_nothing() -> None:
    index = TitleIndex.build([])
    assert len(index) == 0
    assert index.search("DeepSeek-V3") == []
    assert index.best_match("DeepSeek-V3") is None
    assert index.lookup("anything").hits == []


def test_add_and_remove_update_the_index() -> None:
    index = TitleIndex()
    index.add("2404.02041", TITLES["2404.02041"])
    index.add("1712.01337", TITLES["1712.01337"])
    assert len(index) == 2 and "2404.02041" in index
    best = index.best_match("SelfPos3d")
    assert best is not None and best.paper_id == "2404.02041"

    assert index.remove("2404.02041") is True
    assert index.remove("2404.02041") is False
    assert "2404.02041" not in index
    # Its words are gone too: neither the name nor a typo of it finds anything now.
    assert index.search("SelfPose3d") == []
    assert index.search("SelfPos3d") == []
    assert index.best_match("self-supervised learning of motion capture") is not None

    index.add("2404.02041", TITLES["2404.02041"])
    assert index.best_match("selfpose3d") is not None


def test_adding_a_known_id_replaces_its_title() -> None:
    index = TitleIndex.build([("2412.19437", "DeepSeek-V3 Technical Report")])
    index.add("2412.19437", "DeepSeek-V3 Technical Report (revised)")
    assert len(index) == 1
    assert [h.title for h in index.search("deepseek v3")] == [
        "DeepSeek-V3 Technical Report (revised)"
    ]


def test_build_keeps_the_last_title_of_an_id_and_skips_wordless_titles() -> None:
    index = TitleIndex.build(
        [("a", "Old Title About Graphs"), ("a", "New Title About Trees"), ("b", "?!")]
    )
    assert len(index) == 1 and "b" not in index
    assert index.search("graphs") == []
    assert index.best_match("new title about trees") == Hit("a", "New Title About Trees", 100.0)


def test_titles_with_line_breaks_come_back_on_one_line() -> None:
    index = TitleIndex.build([("x", "Deliberation in Latent Space\n  via Differentiable Cache")])
    hit = index.best_match("deliberation in latent space via differentiable cache")
    assert hit is not None and hit.title == "Deliberation in Latent Space via Differentiable Cache"


def test_searches_run_while_the_index_is_updated() -> None:
    index = TitleIndex.build(TITLES.items())
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                best = index.best_match("Deliberation in Latent Space via Differentiable Cache")
                assert best is not None and best.paper_id == "2412.17747"
                index.search("deepseek large language models")
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for round_ in range(200):
        index.add(f"tmp-{round_}", f"Temporary Paper Number {round_} on Latent Caches")
        if round_ % 2:
            index.remove(f"tmp-{round_ - 1}")
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert len(index) == len(TITLES) + 100


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_sorted_bounded_hits(index: TitleIndex, query: str) -> None:
    hits = index.search(query, limit=5)
    assert len(hits) <= 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(MIN_SCORE <= h.score <= 100 and h.paper_id in TITLES for h in hits)


# --- The faster build gives the same answers (the `paperbot lookup` speed-ups, issue 17) ---


def _reference_fold(text: str) -> str:
    """fold_title as it was before its ASCII shortcut: every character through the filter."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = re.sub(r"['’`´]", "", bare.casefold())
    return re.sub(r"[\W_]+", " ", bare).strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_the_ascii_shortcut_folds_as_the_full_fold(text: str) -> None:
    assert fold_title(text) == _reference_fold(text)


def _typo(word: str, rng: random.Random) -> str:
    """One or two random edits of `word`: what a hurried person types."""
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(word))
        edit = rng.choice(("drop", "swap", "change", "insert"))
        if edit == "drop" and len(word) > 1:
            word = word[:i] + word[i + 1 :]
        elif edit == "swap" and i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif edit == "change":
            word = word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]
        else:
            word = word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
    return word


def _queries(titles: list[str], n: int, seed: int) -> list[str]:
    """Queries as people type them: some words of a title, reordered, some with typos."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice(titles).split()
        picked = rng.sample(words, k=min(len(words), rng.randint(1, 6)))
        out.append(" ".join(_typo(w, rng) if rng.random() < 0.4 else w for w in picked))
    return out


def _filed_up_front(index: TitleIndex) -> TitleIndex:
    """The index with every word's typo variants filed at once, as before lazy filing."""
    index._vocab._file_lengths(range(0, 200))
    return index


def _many_titles(n: int, seed: int) -> dict[str, str]:
    """The fixture's and the sample's titles, and made-up ones mixing their words: more titles
    than a query rescores (CANDIDATES), so which words a typo stands for decides the answer."""
    titles = dict(TITLES)
    titles.update((p.id, p.title) for p in load_sample_papers(date(2025, 1, 6)))
    words = sorted({w for t in titles.values() for w in t.split()})
    rng = random.Random(seed)
    for i in range(n):
        titles[f"gen-{i}"] = " ".join(rng.sample(words, rng.randint(3, 9)))
    return titles


def test_lazily_filed_typo_corrections_are_those_filed_up_front() -> None:
    titles = _many_titles(200, seed=3)
    lazy, eager = TitleIndex.build(titles.items()), TitleIndex.build(titles.items())
    _filed_up_front(eager)
    rng = random.Random(5)
    words = sorted({w for t in titles.values() for w in fold_title(t).split()})
    tokens = [_typo(rng.choice(words), rng) for _ in range(3000)]
    for token in tokens:  # the lazy one files more lengths as the tokens go
        assert lazy._vocab.similar(token) == eager._vocab.similar(token), token
    assert sum(bool(eager._vocab.similar(t)) for t in tokens) > 1000  # corrections happened
    indexed = list(eager._postings)
    for token in tokens[:300]:  # and each as the first query of a fresh index
        fresh = Vocabulary()
        for word in indexed:
            fresh.add(word)
        assert fresh.similar(token) == eager._vocab.similar(token), token


def test_lazily_filed_typo_corrections_answer_as_filing_them_all_at_once() -> None:
    titles = _many_titles(2000, seed=17)
    lazy = TitleIndex.build(titles.items())
    eager = _filed_up_front(TitleIndex.build(titles.items()))
    queries = _queries(list(titles.values()), 600, seed=17)
    for query in queries:
        assert lazy.lookup(query, 10) == eager.lookup(query, 10), query
    # Updates after some lengths were filed: added words must be correctable, removed ones not.
    for index in (lazy, eager):
        index.remove("2412.17747")
        index.add("2601.00001", "Delibrations over Quantized Latent Caches")
        index.add("2404.02041", "SelfPose4d: Multi-View Pose Estimation Revisited")
    for query in [*queries[:200], "deliberation latent", "delibration quantised", "selfpose4"]:
        assert lazy.lookup(query, 10) == eager.lookup(query, 10), query


def test_concurrent_searches_filing_the_same_lengths_agree_with_one_search() -> None:
    titles = [p.title for p in load_sample_papers(date(2025, 1, 6))]
    queries = _queries(titles, 200, seed=4)
    eager = _filed_up_front(TitleIndex.build((str(i), t) for i, t in enumerate(titles)))
    expected = {q: eager.lookup(q) for q in queries}
    lazy = TitleIndex.build((str(i), t) for i, t in enumerate(titles))
    start = threading.Barrier(4)
    seen: list[tuple[str, object]] = []

    def search(part: list[str]) -> None:
        start.wait()  # all four begin together, so they race to file the same lengths
        seen.extend((q, lazy.lookup(q)) for q in part)

    threads = [threading.Thread(target=search, args=(queries[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == len(queries)
    assert all(result == expected[q] for q, result in seen)


# --- The stored snapshot: the next process reads the index back instead of folding again ---


def test_an_index_read_back_from_its_snapshot_answers_as_a_fresh_build() -> None:
    titles = _many_titles(2000, seed=23)
    fresh = TitleIndex.build(titles.items())
    data = snapshot.encode(fresh)
    assert data is not None
    back = snapshot.decode(data)
    assert back is not None and back is not fresh
    assert back._postings == fresh._postings and back._slot_of == fresh._slot_of
    assert back._by_name == fresh._by_name
    for query in [*_queries(list(titles.values()), 600, seed=29), "SelfPos3d", "ATLAS"]:
        assert back.lookup(query, 10) == fresh.lookup(query, 10), query


def test_an_index_with_a_free_slot_is_not_snapshotted() -> None:
    # Rebuilt in order, its slots would differ from the original's: no exact copy, no copy.
    index = TitleIndex.build(TITLES.items())
    index.remove("2412.17747")
    assert index.entries() is None and snapshot.encode(index) is None


@pytest.mark.parametrize(
    "data",
    [
        b"not zlib at all",
        zlib.compress(b"{not json"),
        zlib.compress(b'{"format": 999, "entries": []}'),
        zlib.compress(b'{"format": 1, "entries": [["a", "t", "t", "", "", "", "oops"]]}'),
        zlib.compress(b'{"format": 1, "entries": [["a", "t", "t", "", ""]]}'),
        zlib.compress(b'{"format": 1, "entries": [["a", "t", "t", "", "", "", []]]}'),
        zlib.compress(
            b'{"format": 1, "entries": [["a", "t", "t", "", "", "", ["t"]],'
            b' ["a", "u", "u", "", "", "", ["u"]]]}'
        ),
        zlib.compress(b'{"format": 1, "entries": [[1, 2, 3, 4, 5, 6, [7]]]}'),
    ],
)
def test_a_malformed_snapshot_is_ignored(data: bytes) -> None:
    assert snapshot.decode(data) is None


def test_the_fingerprint_changes_with_any_title_id_or_order() -> None:
    pairs = [("2412.17747", "Deliberation in Latent Space"), ("2412.19437", "DeepSeek-V3")]
    key = snapshot.fingerprint(pairs)
    assert snapshot.fingerprint(list(pairs)) == key
    assert snapshot.fingerprint(pairs[::-1]) != key
    assert snapshot.fingerprint([pairs[0], ("2412.19437", "DeepSeek-V3 ")]) != key
    assert snapshot.fingerprint([pairs[0], ("2412.19438", "DeepSeek-V3")]) != key
    assert snapshot.fingerprint(pairs[:1]) != key
    # No id/title boundary can be moved without changing the key.
    assert snapshot.fingerprint([("ab", "c")]) != snapshot.fingerprint([("a", "bc")])


def _another_process(app: App) -> App:
    """A second App on the same database, as the next `paperbot lookup` would build."""
    return build_app(app.settings, source_name="sample", clock=app.clock)


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> TitleIndex:
        raise AssertionError("built the title index although a snapshot was stored")

    monkeypatch.setattr(TitleIndex, "build", refuse)


async def test_the_next_process_reads_the_index_back_and_answers_the_same(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest_day(app, app.clock().date())
    built = await app.title_index()
    queries = _queries([t for _, t in await app.papers.titles()], 100, seed=31)
    expected = [built.lookup(q) for q in queries]
    _no_build(monkeypatch)
    other = _another_process(app)
    try:
        read_back = await other.title_index()
        assert [read_back.lookup(q) for q in queries] == expected
        found = await lookup_papers(other, load_sample_papers(app.clock().date())[3].title)
        assert found.confident and found.papers[0].id == "sample-04"
    finally:
        await other.close()


async def test_a_new_day_stored_after_the_snapshot_is_found_by_the_next_process(
    app: App,
) -> None:
    await ingest_day(app, app.clock().date())
    await app.title_index()  # builds and stores the snapshot of the 76 sample titles
    new = Paper(
        id="sample-99",
        title="Quokka: Cross-Lingual Retrieval of Marsupial Field Notes",
        featured_on=(app.clock().date() + timedelta(days=1),),
    )
    await store(app, [new])  # as an ingest of the next day stores it
    renamed = Paper(id="sample-01", title="Wombat Burrows as Latent Spaces")
    await store(app, [renamed])
    for _ in range(2):  # rebuilt (the titles changed) and stored; then read back
        other = _another_process(app)
        try:
            hit = await lookup_papers(other, "quokka cross lingual retrieval marsupial")
            assert [p.id for p in hit.papers][:1] == ["sample-99"] and hit.confident
            hit = await lookup_papers(other, "wombat burrows as latent spaces")
            assert [p.id for p in hit.papers][:1] == ["sample-01"] and hit.confident
        finally:
            await other.close()


async def test_a_deleted_paper_is_not_answered_from_an_older_snapshot(app: App) -> None:
    await store(app, [Paper(id="2412.19437", title="DeepSeek-V3 Technical Report")])
    await store(app, [Paper(id="sample-05", title="Marsupial Tokenizers for Wombats")])
    await app.title_index()  # stored with the sample paper in it
    assert await app.papers.delete_sample(only_beside_real=True) == 1
    other = _another_process(app)
    try:
        index = await other.title_index()
        assert "sample-05" not in index and "2412.19437" in index
    finally:
        await other.close()


async def test_an_unreadable_snapshot_is_rebuilt_and_replaced(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await ingest_day(app, app.clock().date())
    titles = await app.papers.titles()
    key = snapshot.fingerprint(titles)
    repo = TitleIndexRepo(app.sessions)
    await repo.save(snapshot.KEY, key, b"garbage")
    other = _another_process(app)
    try:
        index = await other.title_index()
        assert len(index) == len(titles)
        assert "title index unreadable" in caplog.text
        stored = await repo.load(snapshot.KEY, key)
        assert stored is not None and snapshot.decode(stored) is not None
    finally:
        await other.close()
