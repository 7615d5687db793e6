"""Link unfurls: arXiv and Hugging Face paper links pasted in Slack get the paper's card.

Slack sends `link_shared` for links to the manifest's `unfurl_domains` in channels the app
is in (scope `links:read`); the app answers with `chat.unfurl` (`links:write`), one Block
Kit card per URL. A link to an unknown paper, or one whose look-up fails, gets no unfurl:
an error has no place in someone else's message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import render_card
from bot.core import Core
from bot.errors import CommandError
from bot.messages import PaperCard
from bot.papers import Paper, normalize_arxiv_id
from bot.services.lookup import lookup_papers
from bot.sources import SourceError

log = logging.getLogger(__name__)

UNFURL_DOMAINS = ("arxiv.org", "huggingface.co")
MAX_LINKS = 5  # unfurled per message; Slack itself sends at most a handful
# A paper not stored yet is fetched like `/papers paper <id>` does; past this the link
# simply stays as it is (Slack shows its own preview, or none).
LOOKUP_SECONDS = 10.0
_PAPER_URL = re.compile(
    r"^https?://(?:www\.|export\.)?(?:arxiv\.org/(?:abs|pdf)/|huggingface\.co/papers/)[^\s<>|]+$",
    re.IGNORECASE,
)


def paper_links(links: object) -> dict[str, str]:
    """The paper links of a `link_shared` event: URL -> arXiv id, at most MAX_LINKS."""
    out: dict[str, str] = {}
    for item in links if isinstance(links, list) else []:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not _PAPER_URL.match(url):
            continue
        arxiv_id = normalize_arxiv_id(url)
        if arxiv_id is not None and url not in out:
            out[url] = arxiv_id
        if len(out) == MAX_LINKS:
            break
    return out


def unfurl_of(paper: Paper) -> dict[str, Any]:
    """The unfurl for one link: the paper card's blocks."""
    return {"blocks": render_card(PaperCard(paper))["blocks"]}


class Unfurls:
    """The `link_shared` listener."""

    def __init__(self, core: Core, timeout: float = LOOKUP_SECONDS):
        self.core = core
        self.timeout = timeout

    async def __call__(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        """Unfurl the paper links of one shared message (bolt has acknowledged it).

        `client` is bolt's, with the token of the workspace the event came from.
        """
        links = paper_links(event.get("links"))
        if not links:
            return
        papers = await asyncio.gather(*(self._paper(i) for i in links.values()))
        unfurls = {url: unfurl_of(p) for url, p in zip(links, papers, strict=True) if p}
        if not unfurls:
            return
        channel, ts = event.get("channel"), event.get("message_ts")
        # Links in a message being written (the composer) have no channel and ts yet.
        where = (
            {"channel": channel, "ts": ts}
            if channel and ts
            else {"unfurl_id": event.get("unfurl_id"), "source": event.get("source")}
        )
        try:
            await client.chat_unfurl(unfurls=unfurls, **where)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("chat.unfurl failed (channel=%s): %s", channel, exc)

    async def _paper(self, arxiv_id: str) -> Paper | None:
        app = self.core.app
        try:
            stored = await app.papers.get(arxiv_id)
            if stored is not None:
                return stored
            # Only the fetch of a paper not stored yet is bounded: it may go online.
            found = await asyncio.wait_for(lookup_papers(app, arxiv_id), self.timeout)
        except (CommandError, SourceError, TimeoutError) as exc:
            log.info("no unfurl for %s: %s", arxiv_id, exc or "look-up too slow")
            return None
        except Exception:
            log.exception("unfurl look-up of %s failed", arxiv_id)
            return None
        return found.papers[0] if found.papers else None
