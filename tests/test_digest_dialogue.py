"""Talking to the bot about digests, alerts, mute and status."""

from __future__ import annotations

from bot.messages import Incoming
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER


async def test_digest_time_in_a_zone_says_when_the_next_one_is(bot):
    # The fixture clock is Tue 2024-12-24 10:00 UTC, 11:00 in Berlin: next is tomorrow.
    reply = await bot.text("digest time 9:30 europe/berlin")
    assert "09:30 Europe/Berlin, every day" in reply
    assert "Next: Wed 2024-12-25 09:30 CET" in reply
    assert "no subscriptions yet" in reply


async def test_bad_times_and_zones_get_a_clear_answer(bot):
    reply = await bot.text("digest time 25:00 UTC")
    assert "'25:00' is not a time of day" in reply and "digest time <HH:MM>" in reply
    reply = await bot.text("digest time 09:00 Europe/Berln")
    assert "Did you mean Europe/Berlin" in reply
    assert "Traceback" not in reply
    assert "at least 1" in await bot.text("digest max 0")
    assert "at most 50" in await bot.text("digest max 51")
    assert "whole number" in await bot.text("digest min-upvotes many")


async def test_only_channel_managers_change_the_channel_digest(bot):
    reply = await bot.text("digest time 08:00 UTC", user=MEMBER)
    assert "Only people who may manage this channel" in reply
    assert "Only people" in await bot.text("digest now", user=MEMBER)
    # Anyone may look.
    assert "Status" in await bot.text("status", user=MEMBER)


async def test_digest_settings_in_a_dm_apply_to_the_user(bot):
    await bot.say("digest max 4", user=MEMBER, place=DM)
    await bot.say("subscribe diffusion", user=ADMIN, place=CHANNEL)
    dm_status = await bot.text("status", user=MEMBER, place=DM)
    channel_status = await bot.text("status", user=MEMBER, place=CHANNEL)
    assert "up to 4 papers" in dm_status and "your direct messages" in dm_status
    assert "up to 10 papers" in channel_status and "diffusion" in channel_status


async def test_status_shows_schedule_source_and_delivery(bot):
    await bot.say("subscribe diffusion")
    await bot.say("digest time 07:45 Asia/Tokyo")
    await bot.say("digest weekdays")
    await bot.say("digest min-upvotes 3")
    status = await bot.text("status")
    assert "diffusion" in status
    assert "07:45 Asia/Tokyo, on weekdays; up to 10 papers, at least 3 upvotes" in status
    # Tue 10:00 UTC is 19:00 in Tokyo; the next weekday 07:45 there is Wednesday.
    assert "Wed 2024-12-25 07:45 JST" in status
    assert "nothing posted yet" in status
    assert "no papers fetched yet" in status


async def test_alerts_and_mute_dialogue(bot):
    reply = await bot.text("alerts daily 07:15 America/New_York", user=MEMBER, place=CHANNEL)
    # Tue 10:00 UTC is 05:00 in New York: later today.
    assert "one DM a day" in reply and "Next: Tue 2024-12-24 07:15 EST" in reply
    assert "whenever new papers match" in await bot.text("alerts instant", user=MEMBER, place=DM)
    assert "not a duration" in await bot.text("mute forever", user=MEMBER, place=DM)
    assert "at most 30 days" in await bot.text("mute 40d", user=MEMBER, place=DM)
    reply = await bot.text("mute 12h", user=MEMBER, place=DM)
    assert "Muted until Tue 2024-12-24 17:00 EST" in reply  # in the zone the user chose
    status = await bot.text("status", user=MEMBER, place=DM)
    assert "Alerts" in status and "instant" in status and "Muted until" in status


async def test_preview_without_subscriptions_explains(bot):
    reply = await bot.text("digest preview")
    assert "no subscriptions here" in reply and "/subscribe" in reply


async def test_time_zone_autocomplete(bot):
    incoming = Incoming(command="digest time", user=ADMIN, place=CHANNEL)
    choices = await bot.core.complete(incoming, "zone", "europe/ber")
    assert ("Europe/Berlin", "Europe/Berlin") in choices
    assert len(await bot.core.complete(incoming, "zone", "")) == 25
