"""Turn neutral replies into Discord messages: escaped text, embeds, split to Discord's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import discord

from bot.messages import (
    Fields,
    FileReply,
    Notice,
    PaperAction,
    PaperCard,
    PaperItem,
    PaperList,
    Reply,
    Section,
    Tone,
)
from bot.papers import Paper
from bot.text import strip_bidi

MAX_EMBEDS = 10
MAX_EMBED_CHARS = 6000
MAX_CONTENT = 2000
MAX_FIELD = 1024  # an embed field's value
MAX_OPTIONS = 25  # a select menu's options
MAX_OPTION_TEXT = 100  # an option's label, value and description
CARD_ABSTRACT = 700
ITEM_ABSTRACT = 240
PAGE_SIZE = 5  # papers per page of an interactive list
COLOUR = discord.Colour(0xFFD21E)  # the Hugging Face yellow
_TONE_MARK = {Tone.INFO: "", Tone.SUCCESS: "✅ ", Tone.WARNING: "⚠️ ", Tone.ERROR: "❌ "}


@dataclass(frozen=True)
class Outgoing:
    """One Discord message to post."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    ephemeral: bool = False
    pages: tuple[Outgoing, ...] = field(default=(), compare=False)  # more pages (Prev/Next)
    # A select menu of papers (label, paper id, description) running `pick` on the chosen.
    choices: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    pick: str | None = None
    # The papers in this message (id, select-menu label), which get 👍 👎 🔖 Similar.
    papers: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    undo: PaperAction | None = field(default=None, compare=False)  # an Undo button
    # Attachments, as (file name, content): the interaction answer uploads them.
    files: tuple[tuple[str, bytes], ...] = field(default=(), compare=False, repr=False)


# One markdown character at a time, URLs left whole. (discord.utils.escape_markdown treats
# everything from a line's first "[" to its last ")" as one masked link and leaves it as is.)
_MARKDOWN = re.compile(
    r"(?P<url>https?://[^\s<]+[^<.,:;\"'\]\s])"
    r"|(?P<line>^[ \t]*[>#-])"
    r"|[\\*_~`|\[\]]",
    re.MULTILINE,
)


def _escape_one(m: re.Match[str]) -> str:
    if m.group("url"):
        return m.group(0)
    return m.group(0)[:-1] + "\\" + m.group(0)[-1]


def escape(text: str) -> str:
    """Make user or paper text inert: no markdown, no mentions, no bidi controls."""
    return discord.utils.escape_mentions(_MARKDOWN.sub(_escape_one, strip_bidi(text)))


def plain(text: str, limit: int) -> str:
    """Fit text for a part Discord shows without markdown (author, footer): no mentions."""
    return clip(discord.utils.escape_mentions(" ".join(strip_bidi(text).split())), limit)


def clip(text: str, limit: int) -> str:
    """Shorten `text` to `limit` characters with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    # Never leave a lone escaping backslash in front of the ellipsis.
    while cut.endswith("\\"):
        cut = cut[:-1]
    return cut + "…"


def safe_text(text: str, limit: int, *, lines: bool = False) -> str:
    """Escape plain text for a markdown field and fit it into `limit` characters.

    Runs of whitespace collapse to one space (arXiv titles carry hard line breaks); with
    `lines`, the line breaks the core meant are kept.
    """
    if lines:
        text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    else:
        text = " ".join(text.split())
    return clip(escape(clip(text, limit)), limit)


def safe_url(url: str | None) -> str | None:
    """Return an http(s) URL that cannot break a markdown link, or None."""
    if not url:
        return None
    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > 512:
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def _links(paper: Paper, budget: int = MAX_FIELD) -> str:
    """The paper's links, as many whole ones as fit in `budget` characters, in this order.

    Two 512-character URLs already overflow a field, so a link that does not fit is left
    out; a link is never cut, which would break its markdown.
    """
    stars = f" ★{paper.github_stars}" if paper.github_stars else ""
    links = [
        ("arXiv", paper.arxiv_url),
        ("PDF", paper.pdf_url),
        ("GitHub" + stars, safe_url(paper.github_url)),
        ("Project page", safe_url(paper.project_page)),
    ]
    out = ""
    for label, url in links:
        if url:
            part = f"{' · ' if out else ''}[{label}]({url})"
            if len(out) + len(part) <= budget:
                out += part
    return out


def cited_by(paper: Paper, *, top: bool, budget: int = MAX_FIELD) -> str:
    """ "[3 models, 1 dataset, 2 Spaces](paper page)", then (with `top`) a line of the most
    liked repos linked, as many whole ones as fit; "" when nothing cites the paper."""
    a = paper.artifacts
    if a is None or not a.any:
        return ""
    counts = a.summary()
    out = f"[{counts}]({paper.hf_url})" if paper.hf_url else counts
    if not top:
        return out
    repos = ""
    for ref in a.top:
        url = safe_url(ref.url)
        # Repo names are untrusted text: escaped like a title (`_` would start italics).
        part = f"{' · ' if repos else ''}[{safe_text(ref.repo_id, 200)}]({url})"
        if url and len(out) + 1 + len(repos) + len(part) <= budget:
            repos += part
    return f"{out}\n{repos}" if repos else out


def paper_card(card: PaperCard) -> discord.Embed:
    """A paper in full: title, authors, abstract excerpt, upvotes, links, thumbnail."""
    p = card.paper
    embed = discord.Embed(
        title=safe_text(p.title, 256),
        url=p.url or p.arxiv_url,
        description=safe_text(p.abstract or p.ai_summary or "", CARD_ABSTRACT) or None,
        colour=COLOUR,
    )
    if p.authors:
        embed.set_author(name=plain(p.authors_short(3), 256))
    embed.add_field(name="Upvotes", value=f"▲ {p.upvotes}", inline=True)
    if p.featured_on:
        embed.add_field(name="Featured", value=p.featured_on[-1].isoformat(), inline=True)
    elif p.published_at:
        embed.add_field(name="Published", value=p.published_at.date().isoformat(), inline=True)
    if links := _links(p):
        embed.add_field(name="Links", value=links, inline=False)
    if cited := cited_by(p, top=True):
        embed.add_field(name="Cited on Hugging Face by", value=cited, inline=False)
    if thumb := safe_url(p.thumbnail):
        embed.set_thumbnail(url=thumb)
    footer = [card.note or "", p.id if not p.arxiv_id else f"arXiv:{p.id}"]
    embed.set_footer(text=plain(" · ".join(x for x in footer if x), 2048))
    return embed


def paper_item(item: PaperItem, rank: int, *, label: str | None = None) -> discord.Embed:
    """A paper as one entry of a list or digest: compact, with what matched it.

    With a `label` it is a suggestion ("You may also like"): the label heads the embed and
    the reasons say why it is offered, not what matched.
    """
    p = item.paper
    lines = []
    if p.authors:
        lines.append(safe_text(p.authors_short(3), 300))
    meta = f"▲ {p.upvotes}"
    if links := _links(p):
        meta += f" · {links}"
    if cited := cited_by(p, top=False):
        meta += f" · {cited}"
    lines.append(meta)
    if excerpt := (p.ai_summary or p.abstract):
        lines.append(safe_text(excerpt, ITEM_ABSTRACT))
    if item.reasons:
        why = "Why" if label else "Matched"
        lines.append(f"{why}: " + safe_text(", ".join(item.reasons), 300))
    embed = discord.Embed(
        title=clip(f"{rank}. " + safe_text(p.title, 250), 256),
        url=p.url or p.arxiv_url,
        description="\n".join(lines),
        colour=COLOUR,
    )
    if label:
        embed.set_author(name=clip("✨ " + label, 256))
    return embed


def section_value(section: Section) -> str:
    """A section's entries as lines, "`/paper <id>` — what it does", as many as fit."""
    lines: list[str] = []
    size = 0
    for term, text in section.entries:
        code = "`" + clip(" ".join(strip_bidi(term).replace("`", "'").split()), 200) + "`"
        line = code + (" — " + safe_text(text, 300) if text else "")
        if size + len(line) + 1 > MAX_FIELD - 2:
            lines.append("…")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) or "—"


def fields_embeds(reply: Fields) -> list[discord.Embed]:
    """A table of rows as embeds of at most 25 fields and 6,000 characters each.

    Headed sections (help), where the reply has them, stand for its rows.
    """
    if reply.sections:
        # Already escaped and fitted: only the splitting below is left to do.
        reply = replace(reply, rows=tuple((s.title, section_value(s)) for s in reply.sections))
        return _table(reply, escaped=True)
    return _table(reply, escaped=False)


def _table(reply: Fields, *, escaped: bool) -> list[discord.Embed]:
    rows = [
        (
            safe_text(name, 256) or "—",
            value if escaped else safe_text(value, MAX_FIELD, lines=True) or "—",
        )
        for name, value in reply.rows
    ] or [("—", "nothing to show")]
    footer = plain(reply.footer, 2048) if reply.footer else None
    budget = MAX_EMBED_CHARS - 300 - len(footer or "")  # room for the title
    chunks: list[list[tuple[str, str]]] = [[]]
    size = 0
    for name, value in rows:
        n = len(name) + len(value)
        if chunks[-1] and (len(chunks[-1]) >= 25 or size + n > budget):
            chunks.append([])
            size = 0
        chunks[-1].append((name, value))
        size += n
    embeds = []
    for i, chunk in enumerate(chunks):
        title = safe_text(reply.title, 240) + (" (continued)" if i else "")
        embed = discord.Embed(title=title, colour=COLOUR)
        for name, value in chunk:
            embed.add_field(name=name, value=value, inline=False)
        embeds.append(embed)
    if footer:
        embeds[-1].set_footer(text=footer)
    return embeds


def notice_text(notice: Notice) -> str:
    """A notice as message content; the usage line goes in a code span."""
    text = _TONE_MARK[notice.tone] + safe_text(notice.text, 1800, lines=True)
    if notice.usage:
        text += "\nUsage: `" + clip(notice.usage.replace("`", "'"), 150) + "`"
    return text


def pack(
    embeds: Sequence[discord.Embed],
    *,
    head: str | None = None,
    tail: str | None = None,
    ephemeral: bool = False,
    max_embeds: int = MAX_EMBEDS,
) -> list[Outgoing]:
    """Split embeds into messages of at most `max_embeds` embeds and 6,000 embed characters.

    `head` is the content of the first message, `tail` of the last.
    """
    groups: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds:
        n = len(embed)
        if groups[-1] and (len(groups[-1]) >= max_embeds or size + n > MAX_EMBED_CHARS):
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += n
    out = []
    for i, group in enumerate(groups):
        parts = [head if i == 0 else None, tail if i == len(groups) - 1 else None]
        content = "\n".join(p for p in parts if p) or None
        out.append(
            Outgoing(clip(content, MAX_CONTENT) if content else None, tuple(group), ephemeral)
        )
    return out


def list_parts(reply: PaperList) -> tuple[str, list[discord.Embed], str | None]:
    head = "**" + safe_text(reply.title, 250) + "**"
    if reply.intro:
        head += "\n" + safe_text(reply.intro, 600)
    embeds = [paper_item(item, i) for i, item in enumerate(reply.items, 1)]
    if reply.items:
        label = safe_text(reply.also_title, 200)
        embeds += [paper_item(item, i, label=label) for i, item in enumerate(reply.also, 1)]
    tail = safe_text(reply.footer, 500, lines=True) if reply.footer else None
    if not embeds:
        tail = "\n".join(x for x in (safe_text(reply.empty_text, 500, lines=True), tail) if x)
    return head, embeds, tail


def render(reply: Reply, *, interactive: bool = False, ephemeral: bool = False) -> list[Outgoing]:
    """Render one reply as the messages to post.

    Interactive answers (to a command) show long lists a page at a time (the first Outgoing
    carries the other `pages`); posts on the bot's own (digests, alerts) are split into as many
    messages as Discord's limits need. `ephemeral` is the command's own preference.
    """
    if isinstance(reply, Notice):
        private = ephemeral or reply.ephemeral or reply.tone is Tone.ERROR
        return [Outgoing(notice_text(reply), ephemeral=private, undo=reply.undo)]
    private = ephemeral or reply.ephemeral
    if isinstance(reply, FileReply):
        text = notice_text(Notice(reply.text, tone=Tone.SUCCESS))
        return [Outgoing(text, ephemeral=private, files=((reply.filename, reply.content),))]
    if isinstance(reply, PaperCard):
        return [Outgoing(None, (paper_card(reply),), private, papers=(control(reply.paper, 1),))]
    if isinstance(reply, Fields):
        return pack(fields_embeds(reply), ephemeral=private)
    head, embeds, tail = list_parts(reply)
    if not interactive:
        return with_papers(reply, pack(embeds, head=head, tail=tail, ephemeral=private))
    pick: dict[str, Any] = {}
    if reply.pick and reply.items:
        pick = {"choices": choices(reply), "pick": reply.pick}
    pages = with_papers(reply, pack(embeds, tail=tail, ephemeral=private, max_embeds=PAGE_SIZE))
    if len(pages) == 1:
        content = head + ("\n" + tail if tail else "")
        return [Outgoing(content, pages[0].embeds, private, papers=pages[0].papers, **pick)]
    n = len(pages)
    titled = tuple(
        Outgoing(
            f"{head} · page {i}/{n}" + ("\n" + tail if tail else ""),
            page.embeds,
            private,
            papers=page.papers,
        )
        for i, page in enumerate(pages, 1)
    )
    first = titled[0]
    return [
        Outgoing(first.content, first.embeds, private, pages=titled, papers=first.papers, **pick)
    ]


SUGGESTED = "✨ "  # marks a suggestion's label in a feedback menu, as its embed's author does


def control(paper: Paper, rank: int, mark: str = "") -> tuple[str, str]:
    """A paper's id and its label in a message's feedback menu: "3. Title", as its embed."""
    return paper.id, plain(f"{mark}{rank}. {paper.title}", MAX_OPTION_TEXT)


def with_papers(reply: PaperList, messages: list[Outgoing]) -> list[Outgoing]:
    """Tell each message of a list which papers it shows (its embeds, in order)."""
    # In embed order, numbered as list_parts numbers the embeds: the matches from 1, then
    # the suggestions after them from 1 again, marked, so that "2." in the menu is the
    # paper whose embed says "2." and not the suggestion shown second.
    numbered = [("", rank, item) for rank, item in enumerate(reply.items, 1)]
    if reply.items:
        numbered += [(SUGGESTED, rank, item) for rank, item in enumerate(reply.also, 1)]
    out, at = [], 0
    for msg in messages:
        n = len(msg.embeds)
        shown = tuple(control(item.paper, rank, mark) for mark, rank, item in numbered[at : at + n])
        out.append(replace(msg, papers=shown))
        at += n
    return out


def choices(reply: PaperList) -> tuple[tuple[str, str, str], ...]:
    """The list's first 25 papers as select options: title, id, and authors and upvotes."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(reply.items, 1):
        p = item.paper
        if p.id in seen or len(out) == MAX_OPTIONS:
            continue  # option values must differ
        seen.add(p.id)
        label = plain(f"{i}. {p.title}", MAX_OPTION_TEXT)
        about = " · ".join(x for x in (p.authors_short(2), f"▲ {p.upvotes}", p.id) if x)
        out.append((label, p.id[:MAX_OPTION_TEXT], plain(about, MAX_OPTION_TEXT)))
    return tuple(out)


def render_all(replies: Iterable[Reply], **kwargs: bool) -> list[Outgoing]:
    return [out for reply in replies for out in render(reply, **kwargs)]
