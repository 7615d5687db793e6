"""Dialogues: rate, undo, save, saved, recommend, similar and forget me, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.messages import Notice, PaperList, Tone
from bot.sources.huggingface import parse_daily_items
from bot.storage.feedback_repo import Person
from bot.storage.models import DestinationRow, RatingRow, SaveRow, SubscriptionRow
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER, FakeClock, TestBot, daily_item
from tests.recommend_corpus import DIFFUSION, KV, items

KV_IDS = [p[0] for p in KV]
DIFF_IDS = [p[0] for p in DIFFUSION]
ADA = Person(ADMIN.platform, ADMIN.id)


@pytest.fixture
async def fed(bot: TestBot) -> TestBot:
    papers, skipped = parse_daily_items(items(), None)
    assert skipped == 0
    # Seen a little before "now" (the fake clock's), as an ingest would have stored them.
    await bot.app.papers.upsert(papers, now=bot.app.clock() - timedelta(minutes=5))
    return bot


async def _rows(bot: TestBot, model: type) -> int:
    async with bot.app.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_rate_then_undo(fed: TestBot) -> None:
    [reply] = await fed.say(f"/rate {KV_IDS[0]} up")
    assert isinstance(reply, Notice) and reply.tone is Tone.SUCCESS and reply.ephemeral
    assert f"Undo: /rate {KV_IDS[0]} clear" in reply.text
    [reply] = await fed.say(f"/rate https://arxiv.org/abs/{KV_IDS[0]}v2 down")
    assert f"Undo: /rate {KV_IDS[0]} up" in reply.text  # undo brings the 👍 back
    assert (await fed.app.feedback.taste(ADA)).ratings == {KV_IDS[0]: -1}
    [reply] = await fed.say(f"/rate {KV_IDS[0]} clear")
    assert reply.text == f"Cleared your rating of {KV_IDS[0]}."
    assert await _rows(fed, RatingRow) == 0
    [reply] = await fed.say(f"/rate {KV_IDS[0]} clear")
    assert reply.text == f"You had not rated {KV_IDS[0]}."


async def test_rating_an_unknown_paper_stores_nothing(fed: TestBot) -> None:
    [reply] = await fed.say("/rate 2501.99999 up")
    assert isinstance(reply, Notice) and reply.tone is Tone.ERROR
    assert reply.text == (
        "Paper 2501.99999 is not among the stored Daily Papers, so it cannot be rated, saved "
        "or compared. Look it up with /paper 2501.99999."
    )
    [reply] = await fed.say("/rate <@everyone> up")
    assert reply.tone is Tone.ERROR and "is not a paper id" in reply.text
    [reply] = await fed.say(f"/rate {KV_IDS[0]} sideways")
    assert reply.text == "rating must be one of: up, down, clear."
    assert reply.usage == "/rate <paper> <up | down | clear>"
    assert await _rows(fed, RatingRow) == 0


async def test_one_vote_per_person_per_paper_makes_the_channel_taste(fed: TestBot) -> None:
    await fed.say(f"/rate {KV_IDS[0]} up")
    await fed.say(f"/rate {KV_IDS[0]} up")  # again: still one vote
    await fed.say(f"/rate {KV_IDS[0]} down", user=MEMBER)
    await fed.say(f"/rate {KV_IDS[1]} up", user=MEMBER)
    await fed.say(f"/rate {KV_IDS[2]} up", place=DM)  # in a DM: not the channel's
    taste = await fed.app.feedback.channel_taste(CHANNEL.platform, CHANNEL.id)
    assert taste.ratings == {KV_IDS[1]: 1}  # +1 -1 cancel out


async def test_save_saved_and_unsave(fed: TestBot) -> None:
    [reply] = await fed.say(f"/save {KV_IDS[1]}")
    assert reply.text.startswith(f"🔖 Saved {KV_IDS[1]}") and f"/unsave {KV_IDS[1]}" in reply.text
    [reply] = await fed.say(f"/save {KV_IDS[1]}")
    assert reply.text == f"{KV_IDS[1]} is saved already. See /saved."
    await fed.say(f"/save {KV_IDS[2]}")
    [listed] = await fed.say("/saved")
    assert isinstance(listed, PaperList) and listed.ephemeral
    assert listed.title == "Your saved papers (2 papers)"
    assert {i.paper.id for i in listed.items} == {KV_IDS[1], KV_IDS[2]}
    [other] = await fed.say("/saved", user=MEMBER)
    assert isinstance(other, PaperList) and other.items == ()
    await fed.say(f"/unsave {KV_IDS[1]}")
    [listed] = await fed.say("/saved")
    assert [i.paper.id for i in listed.items] == [KV_IDS[2]]


async def test_recommend_learns_from_ratings(fed: TestBot, clock: FakeClock) -> None:
    [cold] = await fed.say("/recommend")
    assert isinstance(cold, PaperList)
    assert cold.items[0].paper.id in DIFF_IDS  # no ratings: most upvoted first
    assert cold.footer and "fewer than 5 ratings" in cold.footer
    for pid in KV_IDS[:3]:
        await fed.say(f"/rate {pid} up")
    for pid in DIFF_IDS[:2]:
        await fed.say(f"/rate {pid} down")
    [warm] = await fed.say("/recommend --days 2")
    assert isinstance(warm, PaperList) and warm.footer is None
    ids = [i.paper.id for i in warm.items]
    assert set(ids[:2]) == set(KV_IDS[3:])  # the unrated KV cache papers
    assert not set(ids) & set(KV_IDS[:3] + DIFF_IDS[:2])  # rated ones are not offered
    assert "you liked" in warm.items[0].reasons[0] and "terms:" in warm.items[0].reasons[0]
    clock.advance(days=30)
    [none] = await fed.say("/recommend --days 3")
    assert isinstance(none, Notice) and "/recommend --days 6" in none.text
    [bad] = await fed.say("/recommend --days 0")
    assert bad.tone is Tone.ERROR and "at least 1" in bad.text


async def test_similar(fed: TestBot) -> None:
    [reply] = await fed.say(f"/similar {KV_IDS[0]}")
    assert isinstance(reply, PaperList)
    assert {i.paper.id for i in reply.items[:4]} == set(KV_IDS[1:])
    [reply] = await fed.say("/similar 2501.99999")
    assert reply.tone is Tone.ERROR


async def test_forget_me_asks_first_then_deletes_everything(fed: TestBot) -> None:
    await fed.say(f"/rate {KV_IDS[0]} up", place=DM)
    await fed.say(f"/save {KV_IDS[1]}", place=DM)
    await fed.say("/subscribe kv cache --dm", place=DM)
    await fed.say("/subscribe diffusion")  # the channel's, created by ADMIN
    await fed.say(f"/rate {KV_IDS[0]} up", user=MEMBER)  # someone else's: stays
    [ask] = await fed.say("/forget me", place=DM)
    assert ask.tone is Tone.WARNING and "/forget me confirm" in ask.text
    assert await _rows(fed, RatingRow) == 2  # nothing deleted yet
    [done] = await fed.say("/forget me confirm", place=DM)
    assert done.tone is Tone.SUCCESS, done.text
    assert "1 personal subscription, 1 rating, 1 saved paper" in done.text
    taste = await fed.app.feedback.taste(ADA)
    assert taste.ratings == {} and taste.saved == frozenset()
    assert await _rows(fed, SaveRow) == 0
    assert await _rows(fed, RatingRow) == 1  # the member's
    async with fed.app.sessions() as s:
        kinds = (await s.scalars(select(DestinationRow.kind))).all()
        creators = (await s.scalars(select(SubscriptionRow.created_by))).all()
    assert list(kinds) == ["channel"]  # the personal destination and its alerts are gone
    assert list(creators) == [None]  # the channel keeps its subscription, not the name


def _preview_ids(reply: object) -> list[str]:
    assert isinstance(reply, PaperList), reply
    return [i.paper.id for i in reply.items]


async def test_digest_order_follows_the_channel_taste_but_not_which_papers(fed: TestBot) -> None:
    await fed.say("/subscribe cache OR diffusion")
    [before] = await fed.say("/digest preview")
    upvote_order = _preview_ids(before)
    assert upvote_order[:4] == sorted(DIFF_IDS, reverse=True)  # most upvoted first
    # Too few ratings: the order stays by upvotes.
    await fed.say(f"/rate {KV_IDS[0]} up", user=MEMBER)
    assert _preview_ids((await fed.say("/digest preview"))[0]) == upvote_order
    # Members' ratings here make the channel's taste: KV cache up, diffusion down.
    await fed.say(f"/rate {KV_IDS[1]} up")
    await fed.say(f"/rate {KV_IDS[2]} up", user=MEMBER)
    await fed.say(f"/rate {DIFF_IDS[0]} down")
    await fed.say(f"/rate {DIFF_IDS[1]} down", user=MEMBER)
    [after] = await fed.say("/digest preview")
    ranked = _preview_ids(after)
    assert sorted(ranked) == sorted(upvote_order)  # the same papers
    assert set(ranked[:5]) == set(KV_IDS)  # KV cache first now
    [reply] = await fed.say("/digest rank upvotes")
    assert reply.tone is Tone.SUCCESS and "most upvoted papers first" in reply.text
    assert _preview_ids((await fed.say("/digest preview"))[0]) == upvote_order
    [reply] = await fed.say("/digest rank upvotes", user=MEMBER)
    assert reply.tone is Tone.ERROR  # only managers choose the channel's order
    [reply] = await fed.say("/digest rank popularity")
    assert reply.text == "order must be one of: relevance, upvotes."


async def test_digest_rank_relevance_applies_from_the_first_rating(fed: TestBot) -> None:
    await fed.say("/subscribe cache OR diffusion")
    upvote_order = _preview_ids((await fed.say("/digest preview"))[0])
    await fed.say("/digest rank relevance")
    await fed.say(f"/rate {KV_IDS[0]} up")
    await fed.say(f"/rate {DIFF_IDS[0]} down")
    ranked = _preview_ids((await fed.say("/digest preview"))[0])
    # Two ratings: upvotes still lead, nudged: every KV cache paper moves up or stays,
    # the disliked diffusion paper moves down.
    assert all(ranked.index(p) <= upvote_order.index(p) for p in KV_IDS)
    assert ranked.index(KV_IDS[4]) < upvote_order.index(KV_IDS[4])
    assert ranked.index(DIFF_IDS[0]) > upvote_order.index(DIFF_IDS[0])


async def test_a_failing_model_leaves_the_upvote_order(
    fed: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fed.say("/subscribe cache OR diffusion")
    upvote_order = _preview_ids((await fed.say("/digest preview"))[0])
    await fed.say("/digest rank relevance")
    await fed.say(f"/rate {KV_IDS[0]} up")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("model broke")

    monkeypatch.setattr(fed.app.recommender, "order_many", broken)
    assert _preview_ids((await fed.say("/digest preview"))[0]) == upvote_order


async def test_why_also_says_why_it_is_recommended(fed: TestBot) -> None:
    await fed.say("/subscribe cache")
    before = await fed.text(f"/why {KV_IDS[3]}")
    assert "For you" not in before  # nothing rated: nothing to say
    await fed.say(f"/rate {KV_IDS[0]} up")
    after = await fed.text(f"/why {KV_IDS[3]}")
    assert "For you" in after
    assert f"recommended: like {KV_IDS[0]} you liked; terms:" in after
    assert "(from your 1 like, 0\n      dislikes)" in after  # wrapped by the console


async def test_a_newly_stored_paper_is_recommended_and_similar_at_once(fed: TestBot) -> None:
    [before] = await fed.say(f"/similar {KV_IDS[0]}")
    assert isinstance(before, PaperList)
    new = daily_item(
        "2412.10009",
        "KV cache compression with long context eviction",
        day="2024-12-24",
        abstract="Compressing the key value cache for long context inference.",
        keywords=("kv cache", "long context"),
    )
    papers, _ = parse_daily_items([new], None)
    await fed.app.papers.upsert(papers, now=fed.app.clock())
    [after] = await fed.say(f"/similar {KV_IDS[0]}")
    assert isinstance(after, PaperList)
    assert after.items[0].paper.id == "2412.10009"  # the corpus was refitted with it
