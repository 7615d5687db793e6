"""Render neutral replies as Slack Block Kit messages, escaped and split to Slack's limits."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from adapters.slack.controls import card_controls, overflow, undo_block
from bot.messages import Fields, FileReply, Notice, PaperCard, PaperItem, PaperList, Reply, Tone
from bot.papers import Paper
from bot.text import strip_bidi

Block = dict[str, Any]
SlackMessage = dict[str, Any]  # {"text": fallback, "blocks": [...]}: chat.postMessage/respond

MAX_BLOCKS = 50  # per message
MAX_SECTION_TEXT = 3000  # per section text
# A text object may hold 3,000 characters, but limits quoted for context elements vary
# (2,000 in places); staying under the lower one costs nothing.
MAX_CONTEXT_TEXT = 2000
# Slack also rejects a message whose blocks hold more than ~12,000 characters in total
# (`msg_blocks_too_long`, undocumented; bolt-js #2509), so we pack below that.
MAX_MESSAGE_CHARS = 11_000
MAX_FALLBACK = 3000  # the notification text; Slack allows 40,000 but nobody reads that much
CARD_ABSTRACT = 700
LIST_EXCERPT = 160
MAX_TITLE = 250
MAX_URL = 3000  # a button's URL
MAX_INLINE_URL = 500  # a link inside a list item's text: longer ones are left out, never cut

_TONE_ICON = {
    Tone.INFO: "",
    Tone.SUCCESS: ":white_check_mark: ",
    Tone.WARNING: ":warning: ",
    Tone.ERROR: ":x: ",
}
_UNSAFE_URL = re.compile(r"[\s<>|]")
# mrkdwn has no escape for its formatting characters, so those that could open or close
# formatting become look-alikes (as jsx-slack's <Escape> does): a title's *stars* or an
# abstract's stray ``` can then neither format nor swallow the rest of a section. Zero-width
# spaces would not do: Slack reads them as word boundaries, which *enables* formatting.
_LOOKALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
# *, _ and ~ only format at a word's edge, so inside a word (New_York, not_in_channel) they
# stay; a closed one-line `code span` stays too (it cannot reach past its line, and the
# core writes commands that way); every other backtick (fences, strays) goes.
_MARKER = re.compile(r"(?<![^\W_])[*_~]|[*_~](?![^\W_])|`")
_CODE_SPAN = re.compile(r"(?<!`)`[^`\n]+`(?!`)")  # not part of a ``` fence
# URLs in text keep their characters (a _ or ~ is common there).
_TEXT_URL = re.compile(r"https?://[^\s<>|`*]+")
# A line starting with ">" is a quote in mrkdwn; an invisible soft hyphen in front stops it.
_QUOTE = re.compile(r"^([ \t]*)&gt;", re.MULTILINE)
# What a cut must keep whole in escaped mrkdwn: an entity, an angle-bracket construct
# (`<url|label>`, `<@U…>`, `<!here>`: escaped text has no other `<`), else one character.
_ATOM = re.compile(r"&#?\w{1,8};|<[^<>\n]*>|.", re.DOTALL)
_ANGLED = re.compile(r"<[^<>\n]*>")
_LINK_LABEL = re.compile(r"<[^<>|\n]*\|([^<>\n]*)>")


def _neutral(text: str) -> str:
    return _MARKER.sub(lambda m: _LOOKALIKE[m.group()], text)


def _inert(text: str) -> str:
    """`text` with its formatting characters neutralised, code spans and URLs kept whole."""
    parts, pos = [], 0
    for m in re.finditer(f"{_CODE_SPAN.pattern}|{_TEXT_URL.pattern}", text):
        parts += [_neutral(text[pos : m.start()]), m.group()]
        pos = m.end()
    parts.append(_neutral(text[pos:]))
    return "".join(parts)


def escape(text: str) -> str:
    """Make user or paper text inert in mrkdwn: no mention, link, formatting or quote.

    `&`, `<` and `>` become entities (Slack's only escapes), formatting characters
    look-alikes, and bidi controls are dropped.
    """
    text = _inert(strip_bidi(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _QUOTE.sub("\\1\u00ad&gt;", text)


def fit(escaped: str, limit: int) -> str:
    """Shorten already-escaped mrkdwn to `limit` characters, cut only at safe points.

    Never inside an entity (`&lt;`), a `<url|label>` link or a `<@U…>` mention: a link that
    does not fit keeps as much of its label as fits, as plain text. A code span cut open
    loses its opening backtick, and a bold title cut open is closed again.
    """
    if len(escaped) <= limit:
        return escaped
    if limit < 3:
        return "…"[:limit]
    cut = _cut(escaped, limit - 1)  # and the ellipsis
    if _opens_bold(cut):  # room for the `*` that closes it
        cut = _cut(escaped, limit - 2)
    if cut.count("`") % 2:  # a code span was cut open: its opening backtick goes too
        tick = cut.rfind("`")
        cut = cut[:tick] + _LOOKALIKE["`"] + cut[tick + 1 :]
    return cut + ("…*" if _opens_bold(cut) else "…")


def _opens_bold(cut: str) -> bool:
    # Escaped text has no `*` at a word's edge but ours (see _MARKER), and bold ends with
    # its line; stars inside links are part of their URL.
    return _ANGLED.sub("", cut.rsplit("\n", 1)[-1]).count("*") % 2 == 1


def _cut(escaped: str, room: int) -> str:
    """The longest run of whole atoms of `escaped` (see _ATOM) within `room` characters."""
    out: list[str] = []
    used = 0
    for m in _ATOM.finditer(escaped):
        atom = m.group()
        if used + len(atom) <= room:
            out.append(atom)
            used += len(atom)
            continue
        label = _LINK_LABEL.fullmatch(atom)
        if label is not None:  # the link's words, unlinked, rather than nothing
            out.append(_cut(label.group(1), room - used))
        break
    return "".join(out)


def esc(text: str, limit: int) -> str:
    """One line of user or paper text, clipped at a word, escaped, at most `limit` long."""
    return fit(escape(clip(text, limit)), limit)


def esc_lines(text: str, limit: int) -> str:
    """Like `esc`, keeping the text's line breaks."""
    return fit(escape(clip_lines(text, limit)), limit)


def clip(text: str, limit: int) -> str:
    """Shorten `text` to at most `limit` characters, at a word boundary when possible."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.") + "…"


def safe_url(url: str | None) -> str | None:
    """Return `url` usable inside `<url|label>` and as a button URL, or None.

    http(s) only, no `|`, `>` or spaces, and at most 3,000 characters: Slack rejects the
    whole message over a longer button URL.
    """
    if not url or not url.startswith(("http://", "https://")):
        return None
    url = _UNSAFE_URL.sub(lambda m: urllib.parse.quote(m.group()), url)
    return url if len(url) <= MAX_URL else None


def link(url: str | None, label: str, limit: int = MAX_TITLE) -> str:
    """A mrkdwn link with an escaped label, or just the label when there is no usable URL."""
    target = safe_url(url)
    text = esc(label, limit)
    return f"<{target}|{text}>" if target else text


def mrkdwn(text: str) -> dict[str, str | bool]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(fit(text, MAX_SECTION_TEXT))}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(fit(text, MAX_CONTEXT_TEXT))]}


def render(reply: Reply, *, owner: str = "") -> list[SlackMessage]:
    """Turn one neutral reply into one or more Slack messages.

    `owner` is the Slack user an Undo button is for (the one whose change it takes back).
    """
    if isinstance(reply, Notice):
        return render_notice(reply, owner=owner)
    if isinstance(reply, PaperCard):
        return [render_card(reply)]
    if isinstance(reply, PaperList):
        return render_list(reply)
    if isinstance(reply, Fields):
        return render_fields(reply)
    if isinstance(reply, FileReply):
        # Files are uploaded by adapters.slack.files before rendering; one that reaches
        # here came by a path that cannot upload, and says so rather than pretend.
        return render_notice(
            Notice(f"{reply.text} It cannot be sent as a file here.", tone=Tone.WARNING)
        )
    raise TypeError(f"cannot render {type(reply).__name__}")


def render_notice(notice: Notice, *, owner: str = "") -> list[SlackMessage]:
    icon = _TONE_ICON.get(notice.tone, "")
    text = notice.text.strip() or "…"
    lines = escape(text).splitlines() or [""]
    lines[0] = icon + lines[0]
    blocks = [section(chunk) for chunk in _chunks(lines)]
    if notice.usage:
        blocks.append(context(f"Usage: `{esc(notice.usage, 500)}`"))
    if notice.undo and (undo := undo_block(notice.undo, owner)):
        blocks.append(undo)
    fallback = text if not notice.usage else f"{text}\nUsage: {notice.usage}"
    return _pack(blocks[:1], blocks[1:], esc_lines(fallback, MAX_FALLBACK))


def paper_meta(paper: Paper) -> str:
    """The one-line facts under a title: upvotes, comments, stars, organisation."""
    parts = [f":arrow_up_small: {paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}"]
    if paper.comments:
        parts.append(f":speech_balloon: {paper.comments}")
    if paper.github_stars:
        parts.append(f":star: {paper.github_stars:,}")
    if paper.organization:
        parts.append(esc(paper.organization, 200))
    if paper.featured_on:
        parts.append(f"featured {paper.featured_on[-1].isoformat()}")
    return " · ".join(parts)


def cited_by(paper: Paper, *, top: bool) -> str:
    """ "<paper page|3 models, 1 dataset, 2 Spaces>", then (with `top`) the most liked repos
    linked; "" when nothing cites the paper."""
    a = paper.artifacts
    if a is None or not a.any:
        return ""
    out = link(paper.hf_url, a.summary())
    if top:
        # Repo names are untrusted text: `link` escapes them like any label.
        repos = [link(ref.url, ref.repo_id, 200) for ref in a.top]
        out += "".join(f" · {r}" for r in repos)
    return ":hugs: " + out


def paper_title(paper: Paper) -> str:
    return link(paper.url, paper.title.strip() or paper.id, MAX_TITLE)


def render_card(card: PaperCard) -> SlackMessage:
    paper = card.paper
    lines = [f"*{paper_title(paper)}*"]
    if paper.authors:
        lines.append(esc(paper.authors_short(6), 600))
    lines.append(paper_meta(paper))
    if cited := cited_by(paper, top=True):
        lines.append(cited)
    summary = paper.ai_summary or paper.abstract
    if summary:
        lines.append("")
        lines.append(esc(summary, CARD_ABSTRACT))
    blocks: list[Block] = [section("\n".join(lines))]
    buttons = [
        _button(f"paperbot_link_{n}", label, url)
        for n, (label, url) in enumerate(
            (
                ("Hugging Face", paper.hf_url),
                ("arXiv", paper.arxiv_url),
                ("PDF", paper.pdf_url),
                ("GitHub", paper.github_url),
                ("Project page", paper.project_page),
            )
        )
        if safe_url(url)
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    if controls := card_controls(paper.id):
        blocks.append(controls)
    if card.note:
        blocks.append(context(esc(card.note, MAX_CONTEXT_TEXT)))
    return {
        "text": esc(f"{paper.title} {paper.url or ''}", MAX_FALLBACK),
        "blocks": blocks,
    }


def _button(action_id: str, label: str, url: str | None) -> Block:
    # Link buttons still send a block_actions request; the app acknowledges it (see app.py).
    return {
        "type": "button",
        "action_id": action_id,
        "url": safe_url(url),
        "text": {"type": "plain_text", "text": label, "emoji": False},
    }


def list_item(
    index: int, item: PaperItem, *, why: str = "matched", menu_n: int | None = None
) -> Block:
    """One paper of a list; `menu_n` numbers its menu's action_id where `index` restarts."""
    paper = item.paper
    links = " · ".join(
        link(url, label)
        for label, url in (
            ("arXiv", paper.arxiv_url),
            ("PDF", paper.pdf_url),
            ("GitHub", paper.github_url),
        )
        if (target := safe_url(url)) and len(target) <= MAX_INLINE_URL
    )
    lines = [f"*{index}. {paper_title(paper)}*"]
    facts = [f":arrow_up_small: {paper.upvotes}"]
    if paper.authors:
        facts.append(esc(paper.authors_short(2), 300))
    if links:
        facts.append(links)
    if paper.github_stars:
        facts.append(f":star: {paper.github_stars:,}")
    if cited := cited_by(paper, top=False):
        facts.append(cited)
    lines.append(" · ".join(facts))
    excerpt = paper.ai_summary or paper.abstract
    if excerpt:
        lines.append(esc(excerpt, LIST_EXCERPT))
    if item.reasons:
        lines.append(f"_{why}: " + esc(", ".join(item.reasons), 300) + "_")
    block = section("\n".join(lines))
    # The paper's 👍 👎 🔖 Similar, in its own section: a long digest needs no extra blocks.
    if menu := overflow(paper.id, index if menu_n is None else menu_n):
        block["accessory"] = menu
    return block


def render_list(plist: PaperList) -> list[SlackMessage]:
    head = [section(f"*{esc(plist.title, 500)}*")]
    if plist.intro:
        head.append(context(esc(plist.intro, 1000)))
    body = [list_item(i, item) for i, item in enumerate(plist.items, 1)]
    if not body:
        body = [section(esc(plist.empty_text, MAX_SECTION_TEXT))]
    if plist.footer:
        body.append(context(esc(plist.footer, 1000)))
    also: list[Block] = []
    if plist.also and plist.items:
        # Its own headed group after the matches, so no one takes it for one of them.
        also.append({"type": "divider"})
        also.append(section(f"*:sparkles: {esc(plist.also_title, 200)}*"))
        shown = len(plist.items)  # the menus' action_ids go on from the matches'
        also += [
            list_item(i, item, why="why", menu_n=shown + i) for i, item in enumerate(plist.also, 1)
        ]
    titles = "; ".join(i.paper.title for i in plist.items[:5])
    fallback = f"{plist.title}: {titles}" if titles else f"{plist.title}: {plist.empty_text}"
    return _pack(head, body, esc(fallback, MAX_FALLBACK), title=plist.title, together=also)


def render_fields(fields: Fields) -> list[SlackMessage]:
    head = [section(f"*{esc(fields.title, 500)}*")]
    # Every row fits a section with room to spare, so _chunks never has to cut one.
    rows = [f"{_field_name(name)} {esc_lines(value, 2500)}" for name, value in fields.rows]
    body = [section(chunk) for chunk in _chunks(rows)] if rows else []
    if fields.footer:
        body.append(context(esc(fields.footer, 1000)))
    fallback = "\n".join([fields.title, *(f"{n}: {v}" for n, v in fields.rows)])
    return _pack(head, body, esc_lines(fallback, MAX_FALLBACK), title=fields.title)


def _field_name(name: str) -> str:
    # Help rows are named by their usage line: show those as code, other names in bold.
    if name.startswith("/") and "`" not in name:
        return f"`{esc(name, 300)}` —"
    return f"*{esc(name, 300)}:*"


def clip_lines(text: str, limit: int = MAX_FALLBACK) -> str:
    """Shorten multi-line text to `limit` characters, keeping its line breaks."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Join lines into chunks of at most `limit` characters (over-long lines are cut)."""
    out: list[str] = []
    current = ""
    for line in lines:
        line = fit(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not out:
        out.append(current or " ")
    return out


def _size(block: Block) -> int:
    """The characters of text a block holds, as Slack counts toward its message total."""
    if block["type"] == "section":
        menu = block.get("accessory") or {}
        extra = sum(len(o["text"]["text"]) + len(o["value"]) for o in menu.get("options", ()))
        return len(block["text"]["text"]) + extra
    if block["type"] == "context":
        return sum(len(e.get("text", "")) for e in block["elements"])
    if block["type"] == "actions":
        return sum(len(e["text"]["text"]) + len(e.get("url") or "") for e in block["elements"])
    return 0


def _pack(
    head: list[Block],
    body: list[Block],
    fallback: str,
    *,
    title: str | None = None,
    together: list[Block] | None = None,
) -> list[SlackMessage]:
    """Split blocks into messages of at most 50 blocks and ~11,000 characters each.

    `together` goes after the body in one message: a heading is never left at the end of a
    message with what it heads in the next, under a "(continued)" that reads as the body's.
    """
    messages: list[list[Block]] = [list(head)]
    groups = [[block] for block in body] + ([together] if together else [])
    for group in groups:
        current = messages[-1]
        if (
            len(current) + len(group) > MAX_BLOCKS
            or sum(map(_size, current)) + sum(map(_size, group)) > MAX_MESSAGE_CHARS
        ):
            cont = f"_{esc(title, 500)} (continued)_" if title else "_(continued)_"
            messages.append([context(cont)])
        messages[-1].extend(group)
    out: list[SlackMessage] = []
    for n, blocks in enumerate(messages):
        text = fallback if n == 0 else esc(f"{title or ''} (continued)", MAX_FALLBACK)
        out.append({"text": text, "blocks": blocks})
    return out
