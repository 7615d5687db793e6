"""The core's rule for members in a channel they may not manage, where the platform offers
/subscribe to everyone: they act on their own subscriptions, and are told so."""

from __future__ import annotations

from bot.messages import Incoming, Notice, Reply, Tone, User
from tests.helpers import ADMIN, CHANNEL, MEMBER, TestBot


async def ask(
    bot: TestBot, command: str, text: str, *, user: User = MEMBER, fallback: bool = True
) -> Reply:
    incoming = Incoming(
        command=command, user=user, place=CHANNEL, text=text, members_act_personally=fallback
    )
    [reply] = await bot.core.handle(incoming)
    return reply


async def test_a_member_subscribes_themselves_and_is_told_whom_to_ask(bot: TestBot) -> None:
    reply = await ask(bot, "subscribe", "diffusion")
    assert isinstance(reply, Notice) and reply.ephemeral and reply.tone is not Tone.ERROR
    assert reply.text.startswith("Subscribed you personally to “diffusion” (#1).")
    assert "This subscription is yours, not the channel's." in reply.text
    assert "Only people who may manage #papers can subscribe #papers itself" in reply.text
    assert "ask a moderator to run /subscribe diffusion there." in reply.text
    assert await bot.app.subscriptions.count_personal("test", MEMBER.id) == 1
    assert await bot.app.destinations.find(MEMBER, CHANNEL) is None  # the channel: untouched


async def test_a_manager_still_subscribes_the_channel(bot: TestBot) -> None:
    reply = await ask(bot, "subscribe", "diffusion", user=ADMIN)
    assert isinstance(reply, Notice)
    assert reply.text.startswith("Subscribed #papers to “diffusion” (#1).")
    assert "yours, not the channel's" not in reply.text


async def test_without_the_platforms_consent_a_member_is_still_refused(bot: TestBot) -> None:
    reply = await ask(bot, "subscribe", "diffusion", fallback=False)
    assert isinstance(reply, Notice) and reply.tone is Tone.ERROR
    assert reply.text.startswith("Only people who may manage this channel")


async def test_a_member_removes_only_their_own(bot: TestBot) -> None:
    await ask(bot, "subscribe", "diffusion", user=ADMIN)  # #1, the channel's
    await ask(bot, "subscribe", "agents")  # #2, the member's
    refused = await ask(bot, "unsubscribe", "1")
    assert isinstance(refused, Notice) and refused.tone is Tone.ERROR
    assert refused.text.startswith("#1 is a subscription of #papers, not one of yours.")
    assert "ask a moderator to run /unsubscribe 1 there." in refused.text
    assert len(await bot.app.subscriptions.all_active()) == 2
    done = await ask(bot, "unsubscribe", "2")
    assert isinstance(done, Notice) and done.text.startswith("Removed your subscription #2")


async def test_settings_without_a_personal_scope_stay_refused(bot: TestBot) -> None:
    reply = await ask(bot, "digest time", "08:00")
    assert isinstance(reply, Notice) and reply.tone is Tone.ERROR
    assert reply.text.startswith("Only people who may manage this channel")


async def test_the_fallback_answers_privately(bot: TestBot) -> None:
    member = Incoming("subscribe", MEMBER, CHANNEL, text="x", members_act_personally=True)
    admin = Incoming("subscribe", ADMIN, CHANNEL, text="x", members_act_personally=True)
    assert bot.core.answers_privately(member) and not bot.core.answers_privately(admin)
