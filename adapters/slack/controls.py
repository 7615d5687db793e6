"""👍 / 👎 / 🔖 Save / Similar on Slack: the Block Kit controls (answered in feedback.py).

A card gets a row of four buttons; each paper of a list or digest gets an overflow menu as
its section's accessory, so a list needs no extra block (Slack allows 50 per message). Every
control's value says all a click needs, `fb1|<action>|<paper id>|<owner>`, so any process
answers it, after a restart too. `owner` is empty on a message anyone in the channel may use
(each click counts for the clicker), or the Slack user id of the only person who may (an
Undo in a private confirmation). The answer is private, through the click's response_url.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import CONTROLS, Feedback, PaperAction

ACTION = "paperbot_fb_"  # + a number: action_ids must differ within a message
_VALUE = re.compile(
    r"fb1\|(?P<act>" + "|".join(a.value for a in Feedback) + r")\|"
    r"(?P<paper>[0-9A-Za-z][0-9A-Za-z._/-]{0,60})\|(?P<owner>[0-9A-Z]{0,20})"
)
LABELS = {
    Feedback.UP: "👍 More like this",
    Feedback.DOWN: "👎 Not for me",
    Feedback.SAVE: "🔖 Save",
    Feedback.SIMILAR: "Similar papers",
}
SHORT = {
    Feedback.UP: "👍",
    Feedback.DOWN: "👎",
    Feedback.SAVE: "🔖 Save",
    Feedback.SIMILAR: "Similar",
}


def value_of(click: PaperAction, owner: str = "") -> str | None:
    """A control's value; None for a paper id no control can carry."""
    value = f"fb1|{click.action.value}|{click.paper_id}|{owner}"
    return value if _VALUE.fullmatch(value) else None


def parse(value: str) -> tuple[PaperAction, str] | None:
    m = _VALUE.fullmatch(value)
    if m is None:
        return None
    return PaperAction(m["paper"], Feedback(m["act"])), m["owner"]


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def card_controls(paper_id: str, n: int = 0) -> dict[str, Any] | None:
    """An actions block of 👍 👎 🔖 Save Similar for one paper."""
    buttons = [
        {"type": "button", "action_id": f"{ACTION}{n}_{i}", "text": _text(SHORT[a]), "value": v}
        for i, a in enumerate(CONTROLS)
        if (v := value_of(PaperAction(paper_id, a)))
    ]
    return {"type": "actions", "elements": buttons} if buttons else None


def overflow(paper_id: str, n: int) -> dict[str, Any] | None:
    """An overflow menu of the four controls, as a list item's accessory."""
    options = [
        {"text": _text(LABELS[a]), "value": v}
        for a in CONTROLS
        if (v := value_of(PaperAction(paper_id, a)))
    ]
    return (
        {"type": "overflow", "action_id": f"{ACTION}{n}", "options": options} if options else None
    )


def undo_block(click: PaperAction, owner: str) -> dict[str, Any] | None:
    value = value_of(click, owner)
    if value is None:
        return None
    button = {"type": "button", "action_id": f"{ACTION}undo", "text": _text("Undo"), "value": value}
    return {"type": "actions", "elements": [button]}
