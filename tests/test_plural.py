"""The counted-noun helper every reply uses."""

from __future__ import annotations

from bot.plural import plural


def test_one_is_singular_and_everything_else_plural():
    assert plural(1, "comment") == "1 comment"
    assert plural(0, "paper") == "0 papers"
    assert plural(2, "subscription") == "2 subscriptions"
    assert plural(3, "entry", "entries") == "3 entries"
    assert plural(1, "entry", "entries") == "1 entry"
