"""A deliberately naive per-(query, paper) evaluator: the engine must agree with it exactly.

It shares only the lexical layer with the engine (tokenising, stemming, name parsing) and
spells the matching rules out by brute force: every start position, every run length,
every way to line up given names.
"""

from __future__ import annotations

import itertools

from rapidfuzz.distance import Levenshtein

from bot.matching.engine import Match, Reason
from bot.papers import Paper
from bot.query import (
    And,
    Author,
    Claimed,
    Has,
    Leaf,
    Node,
    Not,
    Or,
    Org,
    Query,
    Stars,
    Text,
    Upvotes,
)
from bot.query.ast import iter_leaves
from bot.query.names import PersonName, parse_name
from bot.query.text import field_texts, tokenize

FIELD_ORDER = (
    "title",
    "abstract",
    "keyword",
    "author",
    "upvotes",
    "code",
    "model",
    "dataset",
    "space",
    "stars",
    "org",
)
_COMPARE = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein <= 1, or a single swap of neighbouring letters."""
    if Levenshtein.distance(a, b) <= 1:
        return True
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def _word_ok(q: str, fuzzy: bool, w: str) -> bool:
    return w == q or (fuzzy and w.isalpha() and _one_edit(q, w))


def text_found(leaf: Text, paper: Paper, field: str) -> bool:
    n = len(leaf.tokens)
    key = "".join(leaf.tokens)
    for string in field_texts(paper)[field]:
        for segment in tokenize(string):
            stems = [t.stem for t in segment]
            for i in range(len(stems)):
                window = stems[i : i + n]
                if len(window) == n and all(
                    _word_ok(q, f, w)
                    for q, f, w in zip(leaf.tokens, leaf.fuzzy, window, strict=True)
                ):
                    return True
                for m in (1, 2, 3):
                    if i + m <= len(stems) and "".join(stems[i : i + m]) == key:
                        return True
    return False


def _given_ok(a: str, b: str) -> bool:
    return a == b or (len(a) == 1 and b[:1] == a) or (len(b) == 1 and a[:1] == b)


def same_person(q: PersonName, a: PersonName) -> bool:
    if q.surname != a.surname:
        return False
    short, long = sorted((q.given, a.given), key=len)
    return any(
        all(_given_ok(s, long[j]) for s, j in zip(short, picks, strict=True))
        for picks in itertools.combinations(range(len(long)), len(short))
    )


def leaf_fields(leaf: Leaf, paper: Paper) -> list[str]:
    """Return the fields where a leaf holds, in FIELD_ORDER."""
    if isinstance(leaf, Upvotes):
        ops = {
            ">=": paper.upvotes >= leaf.value,
            ">": paper.upvotes > leaf.value,
            "<=": paper.upvotes <= leaf.value,
            "<": paper.upvotes < leaf.value,
            "=": paper.upvotes == leaf.value,
        }
        return ["upvotes"] if ops[leaf.op] else []
    # The paper facts, spelled out from the record without bot.query.facts.
    if isinstance(leaf, Stars):
        stars = paper.github_stars
        return ["stars"] if stars is not None and _COMPARE[leaf.op](stars, leaf.value) else []
    if isinstance(leaf, Has):
        if leaf.what == "code":
            return ["code"] if paper.github_repo else []
        a = paper.artifacts
        counts = {"model": a.models, "dataset": a.datasets, "space": a.spaces} if a else {}
        return [leaf.what] if counts.get(leaf.what, 0) > 0 else []
    if isinstance(leaf, Org):
        names = [paper.organization or "", paper.organization_handle or ""]
        folded = [" ".join(n.lower().split()) for n in names if n]
        return ["org"] if leaf.name in folded else []
    if isinstance(leaf, Claimed):
        return ["author"] if any(u.lower() == leaf.user for _, u in paper.claimed) else []
    if isinstance(leaf, Author):
        names = [parse_name(a) for a in paper.authors]
        return ["author"] if any(n and same_person(leaf.name, n) for n in names) else []
    fields = ("title", "abstract", "keyword") if leaf.field == "any" else (leaf.field,)
    return [f for f in fields if text_found(leaf, paper, f)]


def evaluate(node: Node, paper: Paper) -> bool:
    if isinstance(node, Not):
        return not evaluate(node.child, paper)
    if isinstance(node, And):
        return all(evaluate(c, paper) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, paper) for c in node.children)
    return bool(leaf_fields(node, paper))


def reference_match(query: Query, paper: Paper) -> Match | None:
    if not evaluate(query.root, paper):
        return None
    positives = {str(leaf): leaf for leaf, negated in iter_leaves(query.root) if not negated}
    reasons = [
        Reason(term, f) for term in sorted(positives) for f in leaf_fields(positives[term], paper)
    ]
    return Match(paper.id, tuple(reasons))


def reference_batch(
    papers: list[Paper], subscriptions: list[tuple[int, Query]]
) -> dict[int, list[Match]]:
    out: dict[int, list[Match]] = {}
    for sub_id, query in subscriptions:
        found = [m for p in papers if (m := reference_match(query, p)) is not None]
        if found:
            out[sub_id] = found
    return out
