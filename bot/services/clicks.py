"""What a click on a paper's 👍 👎 🔖 Similar (or its Undo) runs, for every adapter."""

from __future__ import annotations

from bot.messages import Feedback, PaperAction

# What a click on a paper's controls runs: the same commands as typing them, so a click and
# `/rate <id> up` are one rule. The options name the paper in the command's `paper` argument.
_CLICKS: dict[Feedback, tuple[str, dict[str, str]]] = {
    Feedback.UP: ("rate", {"rating": "up"}),
    Feedback.DOWN: ("rate", {"rating": "down"}),
    Feedback.CLEAR: ("rate", {"rating": "clear"}),
    Feedback.SAVE: ("save", {}),
    Feedback.UNSAVE: ("unsave", {}),
    Feedback.SIMILAR: ("similar", {}),
}


def click_command(click: PaperAction) -> tuple[str, dict[str, str]]:
    """The registry command and options a click on a paper's controls runs."""
    name, options = _CLICKS[click.action]
    return name, {"paper": click.paper_id, **options}
