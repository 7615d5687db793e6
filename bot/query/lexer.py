"""Split query text into tokens; every mistake becomes a one-line `QueryError`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process

from bot.query.ast import FIELD_NAMES

FIELD_ALIASES = {
    "title": "title",
    "abstract": "abstract",
    "summary": "abstract",
    "author": "author",
    "authors": "author",
    "keyword": "keyword",
    "keywords": "keyword",
    "has": "has",
    "org": "org",
    "organization": "org",
}
EXAMPLES = {
    "general": 'diffusion OR "flow matching" -video',
    "paren": '(diffusion OR "flow matching") video',
    "field": 'title:diffusion author:"Yann LeCun"',
    "upvotes": "diffusion upvotes>=10",
    "stars": "diffusion has:code stars>=100",
    "has": "diffusion (has:code OR has:model)",
    "org": 'org:ByteDance-Seed OR org:"Google DeepMind"',
    "claimed": "author:@akhaliq",
    "not": "diffusion -video",
    "or": "diffusion OR gan",
    "and": "diffusion AND video",
    "quote": '"chain of thought" reasoning',
    "limits": '"large language model" (agent OR tool)',
}
_OPERATOR_WORDS = {"or": "OR", "|": "OR", "and": "AND", "&": "AND", "&&": "AND", "not": "NOT"}
# Fixed patterns of ours; nothing the user types is ever compiled.
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_UPVOTES_RE = re.compile(r"(?i)upvotes\s*(>=|<=|>|<|=)\s*")
_STARS_RE = re.compile(r"(?i)stars\s*(>=|<=|>|<|=)\s*")
_VALUE_RE = re.compile(r"[^\s()\"]*")
_WORD_RE = re.compile(r"[^\s()\"]+")
MAX_UPVOTES = 10**9
_TYPOGRAPHIC_QUOTES = str.maketrans(dict.fromkeys("“”„‟«»″", '"'))


class QueryError(ValueError):
    """A malformed query: `str()` is one line; `.position` is 1-based; `.example` is valid."""

    def __init__(self, reason: str, position: int, example: str = EXAMPLES["general"]) -> None:
        self.reason = reason
        self.position = position
        self.example = example
        super().__init__(f"{reason} at position {position}")

    def pointer(self, text: str) -> str:
        """Return the query and a caret under the offending character, on two lines."""
        return f"{text}\n{' ' * (self.position - 1)}^"


@dataclass(frozen=True, slots=True)
class Lexeme:
    """A query token: kind is LP, RP, OR, AND, NOT, FIELD, WORD, PHRASE, CMP (upvotes) or
    STARS."""

    kind: str
    value: str
    pos: int  # 1-based
    number: int = 0


def lex(text: str) -> list[Lexeme]:
    """Return the lexemes of `text`."""
    # Phones and chat apps "smarten" quotes as they are typed; one for one, so positions hold.
    text = text.translate(_TYPOGRAPHIC_QUOTES)
    out: list[Lexeme] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        pos = i + 1
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(Lexeme("LP" if c == "(" else "RP", c, pos))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError('Unclosed quote "', pos, EXAMPLES["quote"])
            if not text[i + 1 : end].strip():
                raise QueryError("Empty quotes", pos, EXAMPLES["quote"])
            out.append(Lexeme("PHRASE", text[i + 1 : end], pos))
            i = end + 1
        elif c == "-":
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] == ")":
                raise QueryError('Nothing after "-"', pos, EXAMPLES["not"])
            out.append(Lexeme("NOT", "-", pos))
            i += 1
        elif (m := _UPVOTES_RE.match(text, i)) or (m := _STARS_RE.match(text, i)):
            metric = "upvotes" if m.group().lower().startswith("u") else "stars"
            found = _VALUE_RE.match(text, m.end())
            assert found is not None  # "*": it matches, if only the empty string
            value = found.group()
            if not value.isdigit() or not value.isascii() or int(value) > MAX_UPVOTES:
                shown = value or "nothing"
                raise QueryError(
                    f'{metric}{m.group(1)} needs a whole number, not "{shown}"',
                    m.end() + 1,
                    EXAMPLES[metric],
                )
            kind = "CMP" if metric == "upvotes" else "STARS"
            out.append(Lexeme(kind, m.group(1), pos, int(value)))
            i = m.end() + len(value)
        elif m := _FIELD_RE.match(text, i):
            out.append(Lexeme("FIELD", _field_name(m.group(1), pos), pos))
            i = m.end()
        else:
            found = _WORD_RE.match(text, i)
            # The branches above took whitespace, parentheses and quotes: a word starts here.
            assert found is not None
            word = found.group()
            op = _OPERATOR_WORDS.get(word.lower())
            out.append(Lexeme(op, word, pos) if op else Lexeme("WORD", word, pos))
            i += len(word)
    return out


def _field_name(name: str, pos: int) -> str:
    lowered = name.lower()
    if lowered in FIELD_ALIASES:
        return FIELD_ALIASES[lowered]
    if lowered in ("upvotes", "stars"):
        raise QueryError(
            f'Compare {lowered} with >=, >, <=, < or =, as "{lowered}>=10"', pos, EXAMPLES[lowered]
        )
    known = ", ".join(f"{f}:" for f in FIELD_NAMES)
    guess = process.extractOne(lowered, list(FIELD_ALIASES), score_cutoff=70)
    hint = f' (did you mean "{FIELD_ALIASES[guess[0]]}:"?)' if guess else f" (fields: {known})"
    raise QueryError(f'Unknown field "{name}:"{hint}', pos, EXAMPLES["field"])
