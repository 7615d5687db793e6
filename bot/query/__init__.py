"""paperbot's subscription query language.

Words
  Words match whole words, case-insensitively: ``ai`` never matches "rain" or
  "explainability". Plural and singular forms are equal (``LLM`` matches "LLMs",
  ``studies`` matches "study"): a light, deterministic stemmer removes -s, -es and -ies
  and nothing else (no -ing/-ed stripping). Accents are ignored ("Schölkopf" = "Scholkopf").
Spelling variants
  Hyphens, spaces and running words together are interchangeable: ``self-supervised``
  matches "self supervised", "self-supervised" and "selfsupervised"; ``multimodal``
  matches "multi-modal" and "multi modal"; ``chain-of-thought`` matches "chain of thought".
  Precisely: a term matches where its words appear consecutively, or where up to 3
  consecutive words of the text, run together, spell the term's words run together.
  Sentence punctuation (".", ",", ";", ":", "!", "?", brackets, quotes) followed or preceded
  by a space ends a phrase, and every keyword is separate, so nothing matches across them.
Typos
  A word of 5+ letters (after singularising) tolerates one edit (insert, delete, replace,
  or swap two neighbouring letters) against words of letters only: ``difusion`` matches
  "diffusion". Never for shorter words, words with digits, or acronyms: a word typed with
  two capitals or a capital after the first letter (``RAG``, ``ViT``, ``LoRA``, ``LLaMA``)
  matches exactly. Quote a word to switch typo tolerance off: ``"modal"`` will not match
  "model".
Phrases
  ``"exact phrase"`` matches those words consecutively, with the same hyphen, spacing and
  plural tolerance, and no typo tolerance. Typographic quotes (“…”, „…“, «…») count as ".
Operators
  Space-separated terms are ANDed (``AND`` and ``&`` may be written too). ``OR`` (or ``|``)
  binds tighter than AND, as in web search: ``diffusion video OR audio`` means
  ``diffusion (video OR audio)``. ``-term`` and ``NOT term`` exclude. Parentheses group.
  Operator words are case-insensitive (``or`` = ``OR``); quote one to search for it:
  ``"or"``. A query must look for something: ``-video`` alone is an error.
Fields
  ``title:``, ``abstract:`` (alias ``summary:``), ``keyword:`` (alias ``keywords:``; HF's
  ai_keywords) and ``author:`` (alias ``authors:``) apply to the one word, "phrase" or
  (group) that follows: ``title:(diffusion OR flow)``; ``author:Yann LeCun`` is
  ``author:Yann`` AND ``LeCun``, so quote full names. Field names are case-insensitive;
  an unknown one is an error with a suggestion. Unprefixed terms search title, abstract
  and keywords, not authors.
Authors
  ``author:`` compares people: the surname must be equal (accents, case, hyphens and
  apostrophes ignored; no typo tolerance) and the given names compatible, in order, an
  initial matching any name with that letter, the shorter list fitting into the longer.
  ``author:LeCun``, ``author:"Yann LeCun"`` and ``author:"Y. LeCun"`` all match "Yann
  LeCun"; ``author:"Yann LeCun"`` matches "Y. LeCun"; ``author:"J. LeCun"`` does not.
  "LeCun, Yann" order is understood; particles (van, der, de, ...) and Jr./II are ignored.
Upvotes
  ``upvotes>=N`` (also ``>``, ``<=``, ``<``, ``=``; spaces allowed around the operator)
  compares the paper's upvotes.
Paper facts
  ``has:code`` (a GitHub repository is linked), ``has:model``, ``has:dataset`` and
  ``has:space`` (a Hugging Face repo of that kind cites the paper, as last looked up; never
  looked up counts as none), ``stars>=N`` (its GitHub stars; a paper
  without a repository matches no comparison), ``org:<name>`` (the Hugging Face organisation
  the paper is claimed by, by handle or full name, any case: ``org:ByteDance-Seed``,
  ``org:"ByteDance Seed"``) and ``author:@<username>`` (an author who claimed the paper on
  Hugging Face and was verified, by username, any case).
Safety
  No user text is ever compiled as a regex. A query has at most 300 characters, 30 terms
  and 5 levels of parentheses (`Limits`). A malformed query raises `QueryError`, whose
  ``str()`` is one line ending "at position N" (1-based, also in ``.position``) and whose
  ``.example`` is a valid query to show instead.
Canonical form
  ``str(query)`` is canonical: spacing, case, operator spelling, redundant parentheses,
  duplicates and the order of ANDed or ORed parts do not change it, so it detects duplicate
  subscriptions. ``Query.text`` keeps what the user typed.
"""

from bot.query.ast import (
    And,
    Author,
    Claimed,
    Fact,
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
from bot.query.lexer import QueryError
from bot.query.parser import DEFAULT_LIMITS, Limits, parse_query

__all__ = [
    "DEFAULT_LIMITS",
    "And",
    "Author",
    "Claimed",
    "Fact",
    "Has",
    "Leaf",
    "Limits",
    "Node",
    "Not",
    "Or",
    "Org",
    "Query",
    "QueryError",
    "Stars",
    "Text",
    "Upvotes",
    "parse_query",
]
