"""Render neutral replies as readable terminal text."""

from __future__ import annotations

import re
import textwrap

from bot.messages import Fields, FileReply, Notice, PaperCard, PaperList, Reply, Tone
from bot.plural import plural

WIDTH = 88
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")
_MARK = {Tone.INFO: "•", Tone.SUCCESS: "✓", Tone.WARNING: "!", Tone.ERROR: "✗"}


def clean(text: str) -> str:
    """Drop control characters, so paper text cannot move the cursor or recolour the terminal."""
    return _CONTROL.sub("", text)


def _wrap(text: str, indent: str = "   ") -> str:
    return textwrap.fill(clean(text), WIDTH, initial_indent=indent, subsequent_indent=indent)


def excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def render(reply: Reply) -> str:
    if isinstance(reply, Notice):
        out = f"{_MARK[reply.tone]} {clean(reply.text)}"
        if reply.usage:
            out += f"\n  Usage: {clean(reply.usage)}"
        return out
    if isinstance(reply, PaperCard):
        return _card(reply)
    if isinstance(reply, PaperList):
        return _list(reply)
    if isinstance(reply, Fields):
        lines = [f"== {clean(reply.title)}"]
        for name, value in reply.rows:
            lines.append(f"  {clean(name)}")
            lines.extend(_wrap(v, "      ") for v in value.splitlines() or [""])
        if reply.footer:
            lines.append(f"  {clean(reply.footer)}")
        return "\n".join(lines)
    if isinstance(reply, FileReply):
        return file_text(reply)
    raise TypeError(f"cannot render {type(reply).__name__}")


def file_text(reply: FileReply) -> str:
    """The file printed whole between two rules, ready to copy (or to cut out of a pipe)."""
    body = clean(reply.content.decode("utf-8", errors="replace").replace("\r\n", "\n"))
    rule = f"----- {clean(reply.filename)} -----"
    return f"{_MARK[Tone.SUCCESS]} {clean(reply.text)}\n{rule}\n{body.rstrip()}\n{'-' * len(rule)}"


def _card(card: PaperCard) -> str:
    p = card.paper
    lines = [f"━━ {clean(p.title)}"]
    if p.authors:
        lines.append(_wrap(p.authors_short()))
    facts = [f"▲ {plural(p.upvotes, 'upvote')}", plural(p.comments, "comment")]
    if p.featured_on:
        facts.append(f"featured {p.featured_on[-1].isoformat()}")
    if p.github_stars is not None:
        facts.append(f"★ {p.github_stars:,}")
    lines.append("   " + " · ".join(facts))
    if p.artifacts is not None and p.artifacts.any:
        repos = ", ".join(clean(r.repo_id) for r in p.artifacts.top)
        lines.append(f"   cited by {p.artifacts.summary()}" + (f": {repos}" if repos else ""))
    if card.note:
        lines.append(f"   ({clean(card.note)})")
    summary = p.ai_summary or p.abstract
    if summary:
        lines.append(_wrap(excerpt(summary, 600)))
    links = [
        f"{name}: {url}"
        for name, url in (
            ("HF", p.hf_url),
            ("arXiv", p.arxiv_url),
            ("PDF", p.pdf_url),
            ("GitHub", p.github_url),
            ("Project", p.project_page),
        )
        if url
    ]
    lines.append("   " + (" | ".join(clean(x) for x in links) if links else f"id: {p.id}"))
    return "\n".join(lines)


def _list(lst: PaperList) -> str:
    lines = [f"== {clean(lst.title)}"]
    if lst.intro:
        lines.append(f"   {clean(lst.intro)}")
    if not lst.items:
        lines.append(f"   {clean(lst.empty_text)}")
    for i, item in enumerate(lst.items, 1):
        p = item.paper
        lines.append(f"{i:>3}. ▲{p.upvotes:<4} {clean(p.title)}  [{p.id}]")
        for reason in item.reasons:
            lines.append(f"        ↳ {clean(reason)}")
    if lst.footer:
        lines.append(f"   {clean(lst.footer)}")
    if lst.also and lst.items:
        lines.append(f"-- {clean(lst.also_title)}")
        for i, item in enumerate(lst.also, 1):
            p = item.paper
            lines.append(f"{i:>3}. ▲{p.upvotes:<4} {clean(p.title)}  [{p.id}]")
            lines.extend(f"        ↳ why: {clean(r)}" for r in item.reasons)
    return "\n".join(lines)
