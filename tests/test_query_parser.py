"""Parsing: canonical forms, limits and one-line errors that point at the mistake."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.query import And, Author, Limits, Not, Or, QueryError, Text, Upvotes, parse_query
from bot.query.names import PersonName


def test_tree_of_a_full_query() -> None:
    query = parse_query(
        'title:difusion (RAG OR "chain of thought") -video author:"Y. LeCun" upvotes>=10'
    )
    assert query.root == And(
        (
            Text("title", ("difusion",), (True,)),
            Or(
                (
                    Text("any", ("rag",), (False,)),
                    Text("any", ("chain", "of", "thought"), (False,) * 3),
                )
            ),
            Not(Text("any", ("video",), (True,))),  # 5 letters: typo-tolerant
            Author(PersonName(("y",), "lecun")),
            Upvotes(">=", 10),
        )
    )
    assert query.text.startswith("title:difusion")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("LLMs", "llm"),
        ("self-supervised", "self-supervised"),
        ("LLaMA-adapter", "LLAMA-adapter"),  # the acronym stays exact, "adapter" stays fuzzy
        ('"modal"', '"modal"'),  # quoted: no typo tolerance, so it must stay quoted
        ('"or"', '"or"'),
        ("a b OR c", "a b OR c"),
        ("(a b) OR c", "(a b) OR c"),
        ("NOT x y", "-x y"),
        ("--x y", "x y"),
        ("author:LeCun", "author:lecun"),
        ('author:"LeCun, Yann"', 'author:"yann lecun"'),
        ("title:(diffusion OR GAN)", "title:diffusion OR title:gan"),
        ("upvotes >= 10 x", "upvotes>=10 x"),
        ("Keywords:RAG", "keyword:rag"),
    ],
)
def test_canonical_form(typed: str, canonical: str) -> None:
    assert str(parse_query(typed)) == canonical
    assert str(parse_query(canonical)) == canonical


def test_same_query_typed_differently_is_equal() -> None:
    variants = [
        "diffusion  video OR audio -gan",
        "Diffusion (Audio | Video) NOT GAN",
        "(video or audio) and diffusion and not gan",
        "-gan ((audio OR video OR audio)) diffusion",
    ]
    queries = {parse_query(v) for v in variants}
    assert len(queries) == 1
    assert str(next(iter(queries))) == "-gan audio OR video diffusion"


def test_or_binds_tighter_than_and() -> None:
    assert parse_query("diffusion video OR audio").root == And(
        (
            Text("any", ("diffusion",), (True,)),
            Or((Text("any", ("video",), (True,)), Text("any", ("audio",), (True,)))),
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The query is empty at position 1"),
        ("   ", "The query is empty at position 1"),
        ("(diffusion OR gan))", 'Unbalanced ")" at position 19'),
        ("x (diffusion", 'Unclosed "(" at position 3'),
        ("diffusion OR", 'Nothing after "OR" at position 11'),
        ("OR diffusion", 'Nothing before "OR" at position 1'),
        ("a AND OR b", 'Nothing after "AND" at position 3'),
        ("diffusion NOT", 'Nothing after "NOT" at position 11'),
        ("diffusion -", 'Nothing after "-" at position 11'),
        ("()", "Empty parentheses at position 1"),
        ('"unclosed', 'Unclosed quote " at position 1'),
        ('x ""', "Empty quotes at position 3"),
        ("titel:diffusion", 'Unknown field "titel:" (did you mean "title:"?) at position 1'),
        (
            "foo:bar",
            'Unknown field "foo:" (fields: title:, abstract:, author:, keyword:, has:, org:) '
            "at position 1",
        ),
        (
            "has:paper",
            'Unknown "has:paper" (use has:code, has:model, has:dataset or has:space) at position 5',
        ),
        ("x has:models", 'Unknown "has:models" (did you mean has:model?) at position 7'),
        ("has:spaces", 'Unknown "has:spaces" (did you mean has:space?) at position 5'),
        ("x has:", 'Expected a word, "phrase" or (group) after "has:" at position 3'),
        ("stars:5", 'Compare stars with >=, >, <=, < or =, as "stars>=10" at position 1'),
        ("x stars>=many", 'stars>= needs a whole number, not "many" at position 10'),
        ("title:(a stars>=5)", "stars inside title: at position 10"),
        (
            "org:(a b)",
            'org: takes an organisation\'s handle or "full name", as org:ByteDance-Seed '
            "at position 5",
        ),
        (
            "author:@",
            '"@" is not a Hugging Face username (letters, digits, - _ .) at position 8',
        ),
        ("upvotes:5", 'Compare upvotes with >=, >, <=, < or =, as "upvotes>=10" at position 1'),
        ("x upvotes>=ten", 'upvotes>= needs a whole number, not "ten" at position 12'),
        ("x upvotes<", 'upvotes< needs a whole number, not "nothing" at position 11'),
        (
            "-video",
            "The query would match almost every paper; add a word it must contain at position 1",
        ),
        ("x +++", 'Nothing to search for in "+++" (use letters or digits) at position 3'),
        ('title:"x" title:', 'Expected a word, "phrase" or (group) after "title:" at position 11'),
        ("title:(author:x)", 'Field "author:" inside a title:(...) group at position 8'),
    ],
)
def test_errors_are_one_line_with_position_and_example(text: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    err = info.value
    assert str(err) == message
    assert str(err).endswith(f"at position {err.position}")
    parse_query(err.example)  # the example shown to the user is itself valid


def test_limits_default_and_configurable() -> None:
    with pytest.raises(
        QueryError, match=r"Query is too long \(301 characters; the limit is 300\) at position 301"
    ):
        parse_query("x" * 301)
    parse_query("x" * 300)
    thirty = " ".join(f"w{i}" for i in range(30))
    parse_query(thirty)
    with pytest.raises(QueryError, match="Too many terms") as info:
        parse_query(thirty + " w30")
    assert info.value.position == len(thirty) + 2
    parse_query("(((((deep)))))")
    with pytest.raises(QueryError, match=r"nested too deeply \(the limit is 5\) at position 6"):
        parse_query("((((((deep))))))")
    tight = Limits(max_chars=10, max_terms=2, max_depth=1)
    with pytest.raises(QueryError, match="limit is 2"):
        parse_query("a b c", tight)
    with pytest.raises(QueryError, match="limit is 1"):
        parse_query("((a))", tight)


def test_pointer_draws_a_caret() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("a (b")
    assert info.value.pointer("a (b") == "a (b\n  ^"


def test_regex_metacharacters_are_just_punctuation() -> None:
    query = parse_query(r"a.*b [x]+ (?i) \d{3}")
    leaves = [str(leaf) for leaf, _ in query.leaves()]
    assert leaves == ['"a b"', "x", "i", '"d 3"']


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=320))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as err:
        assert "\n" not in str(err)
        assert 1 <= err.position <= max(len(text), 300) + 1
        parse_query(err.example)
    else:
        assert str(parse_query(str(query))) == str(query)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "(",
                ")",
                "OR",
                "or",
                "NOT",
                "-",
                "AND",
                "x",
                "LLM",
                '"a b"',
                "title:",
                "upvotes>=3",
                "author:Ng",
                "y-z",
            ]
        ),
        max_size=12,
    )
)
def test_token_soup_parses_or_fails_cleanly(parts: list[str]) -> None:
    text = " ".join(parts)
    try:
        query = parse_query(text)
    except QueryError as err:
        assert "\n" not in str(err) and 1 <= err.position <= len(text) + 1
    else:
        assert str(parse_query(str(query))) == str(query)


@pytest.mark.parametrize(
    "typed",
    [
        "“chain of thought” reasoning",  # phones and chat apps turn quotes into these
        "„chain of thought“ reasoning",
        "«chain of thought» reasoning",
    ],
)
def test_typographic_quotes_make_a_phrase_too(typed: str) -> None:
    assert str(parse_query(typed)) == str(parse_query('"chain of thought" reasoning'))


def test_a_typographic_quote_left_open_is_an_error() -> None:
    with pytest.raises(QueryError) as err:
        parse_query("title:“diffusion model")
    assert str(err.value) == 'Unclosed quote " at position 7'
