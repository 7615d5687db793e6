"""Say why a paper did or did not match a query (the /why command)."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.papers import Paper
from bot.query import And, Author, Leaf, Node, Not, Or, Query, Text, Upvotes
from bot.query.ast import iter_leaves
from bot.query.facts import fact_hit
from bot.query.names import parse_name, same_person
from bot.query.text import MAX_CONCAT, TEXT_FIELDS, Token, field_texts, tokenize

MAX_HITS_PER_FIELD = 3
MAX_SNIPPET = 60


@dataclass(frozen=True, slots=True)
class FieldHit:
    """Where a term was found: the field and the paper's own text there."""

    field: str  # "title" | "abstract" | "keyword" | "author" | "upvotes" | a fact's field
    text: str


@dataclass(frozen=True, slots=True)
class TermResult:
    """One leaf of the query: whether it was found, and whether that helped the match."""

    term: str  # canonical text of the leaf, e.g. 'title:"diffusion model"'
    negated: bool  # under NOT/-: being found counts against the paper
    found: bool
    hits: tuple[FieldHit, ...]

    @property
    def ok(self) -> bool:
        """Tell whether this term is satisfied (found, or absent when negated)."""
        return self.found != self.negated


@dataclass(frozen=True, slots=True)
class Explanation:
    """The verdict for one (query, paper) pair, term by term in query order."""

    query: str
    paper_id: str
    matched: bool
    terms: tuple[TermResult, ...]


def explain(query: Query, paper: Paper) -> Explanation:
    """Evaluate `query` on `paper`, recording every leaf's hits."""
    hits: dict[Leaf, tuple[FieldHit, ...]] = {}
    terms: list[TermResult] = []
    for leaf, negated in iter_leaves(query.root):
        if leaf not in hits:
            hits[leaf] = _leaf_hits(leaf, paper)
        terms.append(TermResult(str(leaf), negated, bool(hits[leaf]), hits[leaf]))
    matched = _evaluate(query.root, {leaf: bool(h) for leaf, h in hits.items()})
    return Explanation(str(query), paper.id, matched, tuple(terms))


def render_explanation(explanation: Explanation) -> str:
    """Render an explanation as plain-text lines (no markup, nothing that can ping)."""
    verdict = "matches" if explanation.matched else "does not match"
    lines = [f"Paper {explanation.paper_id} {verdict} {explanation.query}"]
    for term in explanation.terms:
        mark = "✓" if term.ok else "✗"
        label = f"NOT {term.term}" if term.negated else term.term
        if term.found:
            where = ", ".join(f'{h.field} "{_snippet(h.text)}"' for h in term.hits)
            lines.append(f"  {mark} {label}: found in {where}")
        else:
            lines.append(f"  {mark} {label}: not found")
    return "\n".join(lines)


def _snippet(text: str) -> str:
    # Paper text is untrusted: keep letters, digits and light punctuation only.
    clean = "".join(c if c.isalnum() or c in " -'.," else " " for c in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= MAX_SNIPPET else clean[: MAX_SNIPPET - 1] + "…"


def _evaluate(node: Node, found: dict[Leaf, bool]) -> bool:
    if isinstance(node, Not):
        return not _evaluate(node.child, found)
    if isinstance(node, And):
        return all(_evaluate(c, found) for c in node.children)
    if isinstance(node, Or):
        return any(_evaluate(c, found) for c in node.children)
    return found[node]


def _leaf_hits(leaf: Leaf, paper: Paper) -> tuple[FieldHit, ...]:
    if isinstance(leaf, Upvotes):
        return (FieldHit("upvotes", str(paper.upvotes)),) if leaf.test(paper.upvotes) else ()
    if not isinstance(leaf, Text | Author):  # a paper fact (has:code, org:, ...)
        hit = fact_hit(leaf, paper)
        return (FieldHit(*hit),) if hit is not None else ()
    if isinstance(leaf, Author):
        return tuple(
            FieldHit("author", a)
            for a in paper.authors
            if (name := parse_name(a)) is not None and same_person(leaf.name, name)
        )
    return _text_hits(leaf, paper)


def _text_hits(leaf: Text, paper: Paper) -> tuple[FieldHit, ...]:
    out: list[FieldHit] = []
    texts = field_texts(paper)
    for name in TEXT_FIELDS if leaf.field == "any" else (leaf.field,):
        found: list[str] = []
        for string in texts[name]:
            for segment in tokenize(string):
                for start, end in _spans(leaf, segment):
                    snippet = string[start:end]
                    if snippet not in found and len(found) < MAX_HITS_PER_FIELD:
                        found.append(snippet)
        out.extend(FieldHit(name, s) for s in found)
    return tuple(out)


def _spans(leaf: Text, segment: list[Token]) -> list[tuple[int, int]]:
    stems = [t.stem for t in segment]
    n = len(leaf.tokens)
    spans: list[tuple[int, int]] = []
    for i in range(len(stems)):
        if i + n <= len(stems) and all(
            _word_ok(q, fz, stems[i + k])
            for k, (q, fz) in enumerate(zip(leaf.tokens, leaf.fuzzy, strict=True))
        ):
            spans.append((segment[i].start, segment[i + n - 1].end))
            continue
        for m in range(1, MAX_CONCAT + 1):
            if i + m <= len(stems) and "".join(stems[i : i + m]) == leaf.key:
                spans.append((segment[i].start, segment[i + m - 1].end))
                break
    return spans


def _word_ok(query_word: str, fuzzy: bool, word: str) -> bool:
    if word == query_word:
        return True
    return fuzzy and word.isalpha() and OSA.distance(query_word, word, score_cutoff=1) <= 1
