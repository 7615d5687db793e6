"""The batch engine agrees with the naive reference evaluator, and /why agrees with both."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.matching.engine import Match, MatchEngine, Reason, match_batch, matches
from bot.matching.explain import explain, render_explanation
from bot.papers import Artifacts, Paper
from bot.query import Query, QueryError, parse_query
from tests.reference_matcher import reference_batch, reference_match

WORDS = [
    "ai", "rain", "explainability", "llm", "LLMs", "RAG", "rag", "ViT", "RL", "rl",
    "diffusion", "difusion", "diffusions", "self-supervised", "selfsupervised", "self",
    "supervised", "multimodal", "multi-modal", "modal", "model", "models", "chain-of-thought",
    "chain", "of", "thought", "thoughts", "transformer", "trasnformer", "study", "studies",
    "analysis", "analyses", "bias", "biases", "class", "classes", "GPT-4", "gpt4", "4",
    "video", "learning", "LoRA", "lora", "graph", "grape", "policy", "policies", "Naïve",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "-", "", ", ", ". ", " (", ") ", "\n  ", "'s "]
AUTHORS = [
    "Yann LeCun", "Y. LeCun", "LeCun, Yann", "Yoshua Bengio", "Y. Bengio", "Ana García-Pérez",
    "Laurens van der Maaten", "J. Smith", "John Smith", "Adam John Smith", "Jean-Baptiste Alayrac",
]  # fmt: skip
QUERY_NAMES = [
    *AUTHORS,
    "LeCun",
    "J. LeCun",
    "Yann André LeCun",
    "Garcia-Perez",
    "Maaten",
    "J.-B. Alayrac",
]


ORG_NAMES = ["ByteDance Seed", "Google  DeepMind", "Tencent"]
ORG_HANDLES = ["ByteDance-Seed", "google", "tencent"]
CLAIMS = [("Yann LeCun", "ylecun"), ("John Smith", "JSmith"), ("Y. Bengio", "yoshua.b")]
QUERY_ORGS = [
    "ByteDance-Seed",
    '"bytedance seed"',
    '"Google DeepMind"',
    "Tencent",
    "google",
    "meta",
]
QUERY_USERS = ["ylecun", "jsmith", "JSMITH", "yoshua.b", "nobody"]


@st.composite
def texts(draw: st.DrawFn, max_words: int = 10) -> str:
    parts = draw(st.lists(st.sampled_from(WORDS), max_size=max_words))
    out = ""
    for i, word in enumerate(parts):
        out += (draw(st.sampled_from(SEPARATORS)) if i else "") + word
    return out


@st.composite
def papers(draw: st.DrawFn) -> list[Paper]:
    n = draw(st.integers(1, 8))
    return [
        Paper(
            id=f"p{i}",
            title=draw(texts(6)),
            abstract=draw(texts(14)),
            authors=tuple(draw(st.lists(st.sampled_from(AUTHORS), max_size=3))),
            upvotes=draw(st.integers(0, 20)),
            ai_keywords=tuple(draw(st.lists(texts(3), max_size=3))),
            github_repo=draw(st.sampled_from([None, "org/repo", "https://github.com/a/b"])),
            github_stars=draw(st.one_of(st.none(), st.integers(0, 30))),
            organization=draw(st.sampled_from([None, *ORG_NAMES])),
            organization_handle=draw(st.sampled_from([None, *ORG_HANDLES])),
            claimed=tuple(draw(st.lists(st.sampled_from(CLAIMS), max_size=2, unique=True))),
            artifacts=draw(
                st.one_of(
                    st.none(),
                    st.builds(
                        Artifacts,
                        st.integers(0, 2),
                        st.integers(0, 2),
                        st.integers(0, 2),
                    ),
                )
            ),
        )
        for i in range(n)
    ]


def _word(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(WORDS))
    return draw(st.sampled_from([word, word.lower(), word.upper(), word.capitalize()]))


@st.composite
def leaves(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 6:
        return "has:" + draw(st.sampled_from(["code", "model", "dataset", "space", "Model"]))
    if kind == 7:
        op = draw(st.sampled_from([">=", ">", "<=", "<", "="]))
        return f"stars{op}{draw(st.integers(0, 30))}"
    if kind == 8:
        return f"org:{draw(st.sampled_from(QUERY_ORGS))}"
    if kind == 9:
        return f"author:@{draw(st.sampled_from(QUERY_USERS))}"
    if kind == 0:
        return _word(draw)
    if kind == 1:
        return '"' + " ".join(_word(draw) for _ in range(draw(st.integers(1, 3)))) + '"'
    if kind == 2:
        field = draw(st.sampled_from(["title", "abstract", "keyword", "Title"]))
        return f"{field}:{draw(leaves())}" if draw(st.booleans()) else f"{field}:{_word(draw)}"
    if kind == 3:
        return f'author:"{draw(st.sampled_from(QUERY_NAMES))}"'
    if kind == 4:
        op = draw(st.sampled_from([">=", ">", "<=", "<", "="]))
        return f"upvotes{op}{draw(st.integers(0, 20))}"
    return _word(draw) + "-" + _word(draw)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(children, children).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(children, children).map(lambda t: f"{t[0]} or {t[1]}"),
        children.map(lambda c: f"-{c}" if c[0] not in "-(" else f"NOT {c}"),
        children.map(lambda c: f"NOT ({c})"),
        children.map(lambda c: f"({c})"),
    )


query_texts = st.recursive(leaves(), _combine, max_leaves=8)


def _parse_or_none(text: str) -> Query | None:
    try:
        return parse_query(text)
    except QueryError:
        return None


def _parse_or_reject(text: str):
    try:
        return parse_query(text)
    except QueryError:
        assume(False)
        raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=papers(), qtexts=st.lists(query_texts, min_size=1, max_size=6))
def test_engine_equals_reference(batch: list[Paper], qtexts: list[str]) -> None:
    # Drop the invalid queries (e.g. only exclusions) rather than the whole example, so that
    # a list of six rarely gets rejected as a whole.
    subs = [(i, q) for i, t in enumerate(qtexts) if (q := _parse_or_none(t)) is not None]
    assume(subs)
    assert match_batch(batch, subs) == reference_batch(batch, subs)


@settings(max_examples=200, deadline=None)
@given(batch=papers(), qtext=query_texts)
def test_canonical_form_keeps_meaning(batch: list[Paper], qtext: str) -> None:
    query = _parse_or_reject(qtext)
    again = parse_query(str(query))
    assert str(again) == str(query)
    # Separate engines: one engine shares equal queries, so would compare a result to itself.
    first = MatchEngine([(1, query)]).match_batch(batch)
    second = MatchEngine([(1, again)]).match_batch(batch)
    assert first.get(1) == second.get(1)


@settings(max_examples=200, deadline=None)
@given(batch=papers(), qtext=query_texts)
def test_explain_agrees_with_engine(batch: list[Paper], qtext: str) -> None:
    query = _parse_or_reject(qtext)
    for paper in batch:
        verdict = explain(query, paper)
        assert verdict.matched == matches(query, paper)
        ref = reference_match(query, paper)
        assert verdict.matched == (ref is not None)
        found = {(t.term, h.field) for t in verdict.terms if not t.negated for h in t.hits}
        if ref is not None:
            assert {(r.term, r.field) for r in ref.reasons} == found


def _paper(pid: str, title: str, abstract: str = "", **kw: object) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, **kw)  # type: ignore[arg-type]


def test_reasons_name_terms_and_fields() -> None:
    paper = _paper(
        "2401.00001",
        "Self-Supervised Diffusion",
        "We study LLMs.",
        authors=("Yann LeCun",),
        upvotes=12,
        ai_keywords=("diffusion model",),
    )
    query = parse_query('diffusion LLM -video author:"Y. LeCun" upvotes>=10')
    result = match_batch([paper], [(7, query)])
    assert result == {
        7: [
            Match(
                "2401.00001",
                (
                    Reason('author:"y lecun"', "author"),
                    Reason("diffusion", "title"),
                    Reason("diffusion", "keyword"),
                    Reason("llm", "abstract"),
                    Reason("upvotes>=10", "upvotes"),
                ),
            )
        ]
    }


def test_or_reports_only_the_branch_found() -> None:
    paper = _paper("a", "Rain removal")
    result = match_batch([paper], [(1, parse_query("ai OR rain"))])
    assert result[1][0].reasons == (Reason("rain", "title"),)


def test_compiled_engine_is_reused_across_batches() -> None:
    engine = MatchEngine([(1, parse_query("diffusion")), (2, parse_query("Diffusion GAN"))])
    first = engine.match_batch([_paper("a", "Diffusion"), _paper("b", "GANs and diffusion")])
    second = engine.match_batch([_paper("c", "Latent diffusions")])
    assert first[1].paper_ids == ["a", "b"] and first[2].paper_ids == ["b"]
    assert second == {1: [Match("c", (Reason("diffusion", "title"),))]}


def test_match_list_reads_like_a_list() -> None:
    batch = [_paper(f"p{i}", "diffusion" if i % 2 else "video") for i in range(10)]
    found = match_batch(batch, [(1, parse_query("diffusion"))])[1]
    assert len(found) == 5 and found[0].paper_id == "p1" and found[-1].paper_id == "p9"
    assert [m.paper_id for m in found[1:3]] == ["p3", "p5"]
    assert [m.paper_id for m in found[:2]] == ["p1", "p3"] and found[:0] == []
    assert (
        found[:] == list(found)
        and found[:-3] == list(found)[:-3]
        and found[::2] == list(found)[::2]
    )
    assert list(found) == found and found == list(found)
    assert found[2].reasons == (Reason("diffusion", "title"),)


def test_subscriptions_without_matches_are_left_out() -> None:
    result = match_batch(
        [_paper("a", "Video")], [(1, parse_query("audio")), (2, parse_query("video"))]
    )
    assert list(result) == [2]


def test_empty_inputs() -> None:
    assert match_batch([], [(1, parse_query("x"))]) == {}
    assert match_batch([_paper("a", "x")], []) == {}


def test_matching_from_threads_is_deterministic() -> None:
    queries = ["diffusion", "LLM agents", '"chain of thought"', "difusion -video", "RAG OR RL"]
    engine = MatchEngine([(i, parse_query(q)) for i, q in enumerate(queries)])
    batch = [
        _paper(
            f"p{i}", f"Diffusion {i}", "LLM agents use chain-of-thought and RAG. video" * (i % 2)
        )
        for i in range(40)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: engine.match_batch(batch), range(8)))
    assert all(r == results[0] for r in results)
    assert results[0] == reference_batch(
        batch, [(i, parse_query(q)) for i, q in enumerate(queries)]
    )


def test_explain_renders_each_term_safely() -> None:
    paper = _paper("2401.00002", "Diffusion <!channel> @everyone video", upvotes=3)
    text = render_explanation(explain(parse_query("diffusion -video upvotes>=10"), paper))
    assert text.splitlines() == [
        "Paper 2401.00002 does not match -video diffusion upvotes>=10",
        '  ✓ diffusion: found in title "Diffusion"',
        '  ✗ NOT video: found in title "video"',
        "  ✗ upvotes>=10: not found",
    ]
    phrase = explain(parse_query('"channel everyone"'), paper)
    assert phrase.matched
    assert "<" not in render_explanation(phrase) and "@" not in render_explanation(phrase)
