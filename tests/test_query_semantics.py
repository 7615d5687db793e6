"""What queries mean: whole words, plurals, spelling variants, typos, fields, operators."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.engine import matches
from bot.papers import Paper
from bot.query import parse_query
from bot.query.text import normalize_word, stem, stem_segments, tokenize


def paper(
    title: str = "",
    abstract: str = "",
    authors: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
    upvotes: int = 0,
) -> Paper:
    return Paper("2401.00001", title, abstract, authors, upvotes=upvotes, ai_keywords=keywords)


def hit(query: str, **kw: object) -> bool:
    return matches(parse_query(query), paper(**kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("ai", "Rain and explainability", False),
        ("ai", "Trustworthy AI", True),
        ("ai", "AI-generated text", True),
        ("LLM", "Scaling LLMs", True),
        ("LLMs", "One LLM to rule them", True),
        ("study", "Case studies", True),
        ("policies", "A policy gradient", True),
        ("class", "Imbalanced classes", True),
        ("patch", "Patches all the way down", True),
        ("analysis", "Two analyses", True),
        ("bias", "Social biases", True),
        ("process", "Gaussian processes", True),
        ("graph", "Paragraphs", False),
        ("learn", "Learning to learn", True),
        ("learn", "Learning", False),  # no -ing stripping
        ("model", "Model's edge", True),  # possessive
    ],
)
def test_whole_words_and_plurals(query: str, title: str, expected: bool) -> None:
    assert hit(query, title=title) is expected


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("self-supervised", "self supervised"),
        ("self-supervised", "Self-Supervised"),
        ("self-supervised", "selfsupervised"),
        ('"self supervised"', "selfsupervised"),
        ("selfsupervised", "self-supervised"),
        ("multimodal", "multi-modal"),
        ("multimodal", "multi modal"),
        ("multi-modal", "multimodal"),
        ("chain-of-thought", "chain of thought"),
        ("chain-of-thought", "chain-of-thoughts"),
        ("chainofthought", "chain of thought"),
        ('"chain of thought prompting"', "chainofthought prompting"),
        ("gpt4", "GPT-4"),
        ("GPT-4", "gpt4"),
        ("pretraining", "pre-training"),
    ],
)
def test_hyphen_space_and_run_together_variants_match(query: str, text: str) -> None:
    assert hit(query, abstract=text)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("difusion", "diffusion models", True),
        ("diffusion", "difusion", True),
        ("trasnformer", "transformer", True),  # swapped neighbours count as one edit
        ("transformr", "transformers", True),
        ("difsuion", "diffusion", False),  # two edits
        ("grph", "graph", False),  # under 5 letters: exact
        ("LLaMA", "lama", False),  # acronym: exact
        ("LLaMA", "Llama 3", True),
        ("ViT", "vits", True),  # plural still allowed for acronyms
        ("gpt4o", "gpt4", False),  # digits: exact
        ("modal", "model", True),  # the documented price of typo tolerance...
        ('"modal"', "model", False),  # ...which quotes switch off
        ('"diffusion model"', "difusion model", False),
        ("diffusion-model", "difusion models", True),
    ],
)
def test_typo_tolerance(query: str, text: str, expected: bool) -> None:
    assert hit(query, abstract=text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ('"diffusion model"', "latent diffusion models", True),
        ('"diffusion model"', "model diffusion", False),
        ('"diffusion model"', "diffusion. Model", False),  # sentence break
        ('"diffusion model"', "diffusion, model", False),
        ('"diffusion model"', "diffusion\n  model", True),  # arXiv line break
        ('"GPT 3.5"', "GPT-3.5 turbo", True),
        ("diffusion model", "a model for diffusion", True),  # unquoted words are ANDed
    ],
)
def test_phrases(query: str, text: str, expected: bool) -> None:
    assert hit(query, abstract=text) is expected


def test_keywords_are_separate_and_searched_by_default() -> None:
    kw = ("diffusion", "model compression")
    assert hit("compression", keywords=kw)
    assert hit("keyword:compression", keywords=kw)
    assert not hit('"diffusion model"', keywords=kw)
    assert not hit("title:compression", keywords=kw)


def test_fields() -> None:
    p = {"title": "Video diffusion", "abstract": "We study audio.", "authors": ("Audio Smith",)}
    assert hit("title:video", **p) and not hit("title:audio", **p)
    assert hit("abstract:audio", **p) and not hit("abstract:video", **p)
    assert hit("summary:audio", **p)
    assert hit("title:(audio OR video)", **p)
    assert not hit("smith", **p)  # unprefixed terms do not search authors
    assert hit("author:smith", **p)


@pytest.mark.parametrize(
    ("query", "author", "expected"),
    [
        ("author:LeCun", "Yann LeCun", True),
        ('author:"Yann LeCun"', "Yann LeCun", True),
        ('author:"Y. LeCun"', "Yann LeCun", True),
        ('author:"Yann LeCun"', "Y. LeCun", True),
        ('author:"yann lecun"', "LeCun, Yann", True),
        ('author:"J. LeCun"', "Yann LeCun", False),
        ('author:"Yves LeCun"', "Yann LeCun", False),
        ("author:Yann", "Yann LeCun", False),  # the surname must match
        ("author:Lecu", "Yann LeCun", False),  # no typos in names
        ('author:"J. Smith"', "Adam John Smith", True),
        ('author:"Adam J. Smith"', "John Smith", True),
        ('author:"van der Maaten"', "Laurens van der Maaten", True),
        ('author:"L. Maaten"', "Laurens van der Maaten", True),
        ("author:Garcia-Perez", "Ana García-Pérez", True),
        ('author:"J.-B. Alayrac"', "Jean-Baptiste Alayrac", True),
        ('author:"Scholkopf"', "Bernhard Schölkopf", True),
        ('author:"Martin Luther King Jr."', "Martin L. King", True),
    ],
)
def test_author_names(query: str, author: str, expected: bool) -> None:
    assert hit(query, authors=(author,)) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("x upvotes>=10", True),
        ("x upvotes>10", False),
        ("x upvotes<=10", True),
        ("x upvotes<10", False),
        ("x upvotes=10", True),
        ("x upvotes = 9", False),
    ],
)
def test_upvotes(query: str, expected: bool) -> None:
    assert hit(query, title="x", upvotes=10) is expected


def test_operators() -> None:
    text = {"title": "Diffusion for audio", "abstract": "no images here"}
    assert hit("diffusion video OR audio", **text)  # = diffusion (video OR audio)
    assert not hit("diffusion video", **text)
    assert not hit("diffusion -audio", **text)
    assert not hit("diffusion NOT audio", **text)
    assert hit("diffusion -(video OR image)", abstract="diffusion")
    assert not hit("diffusion -(video OR image)", **text)
    assert hit("gan or audio", **text) and hit("gan | audio", **text)  # or is an operator
    assert hit('diffusion "or"', title="diffusion or not")  # quoted: the word itself


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
def test_stemming_is_idempotent(word: str) -> None:
    once = normalize_word(word)
    assert normalize_word(once) == once
    assert stem(once) == once


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "model",
                "s",
                "'",
                "’",
                " ",
                ". ",
                ", ",
                "-",
                "(",
                ")",
                "3.5",
                "é",
                "¼",
                "ﬁ",
                "\n",
                "x",
                "_",
            ]
        ),
        max_size=20,
    ).map("".join)
)
def test_fast_tokenizer_agrees_with_positional_one(text: str) -> None:
    assert stem_segments(text) == [[t.stem for t in seg] for seg in tokenize(text)]
