"""Fuzzy title look-up: each kind of noise, no-match, ambiguity, updates and edge cases."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.lookup import CONFIDENT_SCORE, MAX_QUERY_CHARS, MIN_SCORE, Hit, TitleIndex, fold_title

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
