"""subscribe, unsubscribe and subscriptions: saved queries of a channel or of one user.

Scope: in a channel a command acts on the channel's subscriptions; in a DM, or with the
`--dm` switch (the `dm` option on Discord), on the caller's personal ones, delivered by DM.
Both `subscribe` and `unsubscribe` are `manages_channel` commands, so a channel's
subscriptions are only ever changed by people who may manage it: the core refuses other
members, or, where the platform offers the commands to everyone (Discord), lets them act on
their personal scope instead (`Context.personal_fallback`), and the reply says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.app import App
from bot.commands.args import Style, is_true
from bot.commands.registry import Arg, Command, Context, shown
from bot.delivery.trending import FLAG, TRENDING_DAYS, threshold
from bot.errors import CommandError, UsageError
from bot.messages import Fields, Notice, Reply, Tone
from bot.plural import plural
from bot.query import QueryError
from bot.services import subscription_file
from bot.services.queries import parse_or_usage, refuse_stop_words
from bot.services.search import PREVIEW_DAYS, period
from bot.services.subscription_file import Parsed
from bot.services.subscriptions import preview, recent_counts, rows_in_scopes
from bot.storage.destinations_repo import USER, DestinationRepo
from bot.storage.models import DestinationRow, SubscriptionRow
from bot.storage.subscriptions_repo import (
    DuplicateSubscriptionError,
    SubscriptionBatch,
    SubscriptionLimitError,
    SubscriptionRepo,
)

DM = Arg(
    "dm",
    "You personally, by direct message (instead of this channel)",
    required=False,
    kind="bool",
    flag="--dm",
)
WHEN_CROSSED = Arg(
    "when_crossed",
    "Post a paper of the last week when its upvotes reach the query's upvotes>=N",
    required=False,
    kind="bool",
    flag="--when-crossed",
)
# One export message stays well inside every platform's text limit (Discord's 2,000
# characters with its markup escapes; Slack's 3,000 a section).
EXPORT_PART_CHARS = 1500
# Discord's longest text option; a channel's 100 queries of typical length fit.
IMPORT_MAX_CHARS = 6000
_ID_RE = re.compile(r"#?(\d{1,18})")


def repos(app: App) -> tuple[DestinationRepo, SubscriptionRepo]:
    return app.destinations, app.subscriptions


def is_personal(ctx: Context, args: Mapping[str, object]) -> bool:
    # Parsed arguments carry a bool, a completer's raw options a string: is_true reads both.
    return ctx.place.is_dm or ctx.personal_fallback or is_true(args.get(DM.name))


def channel_name(ctx: Context) -> str:
    return f"#{ctx.place.name}" if ctx.place.name else "this channel"


def ask_a_moderator(ctx: Context, action: str, invocation: str) -> str:
    """Why a member's command acted on them, and how the channel's can be changed."""
    return (
        f"Only people who may manage {channel_name(ctx)} can {action}: ask a moderator to run "
        f"{invocation} there."
    )


def scope_name(row: DestinationRow) -> str:
    """How a reply names a destination: "you personally" or "#papers"."""
    if row.kind == USER:
        return "you personally"
    return f"#{row.name}" if row.name else "this channel"


def parse_id(text: str, prefix: str) -> int:
    m = _ID_RE.fullmatch(text.strip())
    if m is None:
        raise UsageError(
            f"{text.strip()!r} is not a subscription id; ids are numbers such as 12 "
            f"(list them with {prefix}subscriptions)."
        )
    return int(m.group(1))


async def subscribe_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Subscribe this channel (or yourself, in a DM or with --dm) to papers matching a query."""
    app = ctx.app
    query = parse_or_usage(
        args["query"], "subscribe", ("--dm", "--when-crossed"), typed=ctx.style is Style.TYPED
    )
    refuse_stop_words(query)
    crossed = is_true(args.get(WHEN_CROSSED.name))
    at = threshold(query) if crossed else None
    if crossed and at is None:
        raise UsageError(
            f"{FLAG} needs an upvote threshold ANDed into the query, e.g. "
            f'{ctx.incoming.prefix}subscribe "world model" upvotes>=50 {FLAG}.'
        )
    personal = is_personal(ctx, args)
    destinations, subscriptions = repos(app)
    dest = await destinations.get_or_create(ctx.user, ctx.place, personal=personal, now=app.clock())
    settings = app.settings
    limit = (
        settings.max_subscriptions_per_user
        if dest.kind == USER
        else settings.max_subscriptions_per_channel
    )
    prefix = ctx.incoming.prefix
    by_dm = personal and not ctx.place.is_dm  # in a DM, personal goes without saying
    try:
        row = await subscriptions.add(
            dest.id,
            query.text.strip(),
            str(query),
            created_by=ctx.user.id,
            limit=limit,
            now=app.clock(),
            when_crossed=crossed,
        )
    except DuplicateSubscriptionError as exc:
        existing = await subscriptions.get(exc.existing_id)
        shown = f" (“{existing.query}”)" if existing else ""
        who = "You are" if dest.kind == USER else f"{scope_name(dest).capitalize()} is"
        raise CommandError(
            f"{who} already subscribed to that query as #{exc.existing_id}{shown}. "
            f"Test it with {ctx.invocation('why', paper='<paper>', subscription=exc.existing_id)}."
        ) from None
    except SubscriptionLimitError as exc:
        whose = (
            "You have reached the limit of"
            if dest.kind == USER
            else f"{scope_name(dest).capitalize()} has reached the limit of"
        )
        raise CommandError(
            f"{whose} {plural(exc.limit, 'subscription')}. Remove one with "
            f"{ctx.invocation('unsubscribe', id='<id>', dm=by_dm)} "
            f"(list them with {prefix}subscriptions), "
            "or combine queries with OR."
        ) from None
    text = f"Subscribed {scope_name(dest)} to “{row.query}” (#{row.id}). "
    if at is not None:
        # A trending subscription is not previewed: what it posts depends on later upvotes.
        matched, broad = (
            f"Each matching paper of the last {TRENDING_DAYS} days is posted here once its "
            f"upvotes reach {at} (checked every poll), not in digests.",
            False,
        )
    else:
        matched, broad = await preview(app, query)
    text += matched
    if broad:
        # Subscribed all the same: a broad topic can be meant. But say it, with the way out.
        text += (
            " Most likely the query is too broad: narrow it with more words, a field "
            "(title:…) or upvotes>=10, then remove this one with "
            f"{ctx.invocation('unsubscribe', id=row.id, dm=by_dm)}."
        )
    if dest.kind == USER and not ctx.place.is_dm:
        text += " Matches will come by direct message."
    if ctx.personal_fallback and ctx.place.personal_only:
        text += " " + ctx.place.personal_only  # nobody here could subscribe the channel
    elif ctx.personal_fallback:
        # The member asked in a channel without saying --dm: say why it is theirs alone.
        invocation = ctx.invocation("subscribe", query=row.query)
        text += " This subscription is yours, not the channel's. " + ask_a_moderator(
            ctx, f"subscribe {channel_name(ctx)} itself", invocation
        )
    tone = Tone.WARNING if broad else Tone.SUCCESS
    return [Notice(text, tone=tone, ephemeral=dest.kind == USER)]


async def unsubscribe_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Remove a subscription of this channel, or one of yours (in a DM or with --dm)."""
    prefix = ctx.incoming.prefix
    sub_id = parse_id(args["id"], prefix)
    personal = is_personal(ctx, args)
    destinations, subscriptions = repos(ctx.app)
    dest = await destinations.find(ctx.user, ctx.place, personal=personal)
    row = await subscriptions.get(sub_id)
    if dest is None or row is None or row.destination_id != dest.id:
        where = "of yours" if personal else "in this channel"
        hint = f"List them with {prefix}subscriptions."
        channel = None if ctx.place.is_dm else await destinations.find(ctx.user, ctx.place)
        if ctx.personal_fallback and row and channel and row.destination_id == channel.id:
            invocation = ctx.invocation("unsubscribe", id=sub_id)
            raise CommandError(
                f"#{sub_id} is a subscription of {scope_name(channel)}, not one of yours. "
                + ask_a_moderator(ctx, "remove the channel's subscriptions", invocation)
            )
        mine = await destinations.find(ctx.user, ctx.place, personal=True)
        if not personal and row is not None and mine is not None and row.destination_id == mine.id:
            mention = ctx.invocation("unsubscribe", id=sub_id, dm=True)
            hint = f"#{sub_id} is a personal one of yours: {mention}."
        raise CommandError(f"There is no subscription #{sub_id} {where}. {hint}")
    if not await subscriptions.remove(sub_id, dest.id):
        raise CommandError(f"Subscription #{sub_id} was just removed by someone else.")
    return [
        Notice(
            f"Removed #{sub_id} (“{row.query}”) from the subscriptions of {scope_name(dest)}."
            if dest.kind != USER
            else f"Removed your subscription #{sub_id} (“{row.query}”).",
            tone=Tone.SUCCESS,
            ephemeral=dest.kind == USER,
        )
    ]


async def _listing(
    app: App, title: str, rows: list[SubscriptionRow], scope: str, *, ephemeral: bool
) -> Fields:
    parsed, counts = await recent_counts(app, rows)
    lines: list[tuple[str, str]] = []
    for r in rows:
        q = parsed[r.id]
        if isinstance(q, QueryError):
            status = f"no longer a valid query ({q}); remove it and subscribe again"
        else:
            status = f"{plural(counts[r.id], 'paper')} in {period(PREVIEW_DAYS)}"
        if r.when_crossed:
            status += "; trending: posted when the threshold is crossed"
        lines.append((f"#{r.id}  {r.query}", f"{scope} · {status}"))
    return Fields(title=title, rows=tuple(lines), ephemeral=ephemeral)


async def subscriptions_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """List this channel's subscriptions and your own, with their matches of the last 7 days."""
    action = args.get("action") or "list"
    if action == "export":
        return await export_command(ctx, args)
    if action == "import":
        return await import_command(ctx, args)
    if args.get("queries"):
        raise UsageError(
            f"Only import takes queries: {ctx.incoming.prefix}subscriptions import <queries>."
        )
    app = ctx.app
    prefix = ctx.incoming.prefix
    destinations, subscriptions = repos(app)
    out: list[Reply] = []
    channel_empty = False
    if not ctx.place.is_dm:
        channel = await destinations.find(ctx.user, ctx.place)
        rows = await subscriptions.list_for(channel.id) if channel else []
        channel_empty = not rows
        if rows:
            assert channel is not None
            name = scope_name(channel)
            out.append(
                await _listing(
                    app, f"Subscriptions of {name} ({len(rows)})", rows, name, ephemeral=False
                )
            )
    mine = await destinations.find(ctx.user, ctx.place, personal=True)
    rows = await subscriptions.list_for(mine.id) if mine else []
    if rows:
        out.append(
            await _listing(
                app, f"Your personal subscriptions ({len(rows)})", rows, "by DM", ephemeral=True
            )
        )
    if not out:
        where = "You have" if ctx.place.is_dm else "This channel has no subscriptions, and you have"
        return [
            Notice(
                f"{where} no personal subscriptions. Try a query with {prefix}search <query>, "
                f"then {prefix}subscribe <query>.",
                ephemeral=True,
            )
        ]
    unsubscribe = ctx.registry.get("unsubscribe")
    remove = (
        ctx.invocation("unsubscribe", id="<id>")
        if ctx.place.is_dm or unsubscribe is None
        else ctx.usage(unsubscribe)
    )
    none_here = "This channel has no subscriptions. " if channel_empty else ""
    last = out[-1]
    assert isinstance(last, Fields)
    out[-1] = Fields(
        title=last.title,
        rows=last.rows,
        footer=f"{none_here}Remove one: {remove} · "
        f"See why a paper matches: {ctx.invocation('why', paper='<paper>', subscription='<id>')}",
        ephemeral=last.ephemeral,
    )
    return out


async def export_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Write this channel's subscriptions (or yours) as a subscriptions file, to paste back."""
    personal = is_personal(ctx, args)
    dest = await ctx.app.destinations.find(ctx.user, ctx.place, personal=personal)
    rows = await ctx.app.subscriptions.list_for(dest.id) if dest else []
    if dest is None or not rows:
        who = "You have" if personal else "This channel has"
        return [Notice(f"{who} no subscriptions to export.", ephemeral=True)]
    text = subscription_file.export_text(dest, rows)
    pieces = subscription_file.parts(text, EXPORT_PART_CHARS)
    restore = ctx.invocation("subscriptions", action="import", queries="<the lines>", dm=personal)
    head = (
        f"Subscriptions of {scope_name(dest)} ({len(rows)}), format "
        f"v{subscription_file.VERSION}. Restore them anywhere with {restore}"
        " (one query a line, or separated by ;)."
    )
    if len(pieces) > 1:
        head += f" The file comes in {len(pieces)} parts; import each."
    # Ephemeral: an export is for the one who asked, like a personal listing.
    out: list[Reply] = [Notice(head, ephemeral=True)]
    out.extend(Notice(p, ephemeral=True) for p in pieces)
    return out


async def import_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Add the queries of a subscriptions file or a pasted list; report each one's fate."""
    app = ctx.app
    text = args.get("queries") or ""
    if not text.strip():
        raise UsageError(
            "Paste the queries to import after the command, one a line or separated by ;, "
            'as in: subscriptions import diffusion -audio; "world model"'
        )
    personal = is_personal(ctx, args)
    if not personal and not ctx.place.is_dm and not ctx.user.can_manage_channel:
        raise CommandError(
            "Only people who may manage this channel can import subscriptions into it. "
            f"Import them as yours with {ctx.invocation('subscriptions', action='import', dm=True)}"
            " <queries>."
        )
    parsed = subscription_file.read(text)
    if not parsed.queries and not parsed.invalid:
        raise UsageError("There is no query in that text, only comments or blank lines.")
    dest = await app.destinations.get_or_create(
        ctx.user, ctx.place, personal=personal, now=app.clock()
    )
    settings = app.settings
    limit = (
        settings.max_subscriptions_per_user
        if dest.kind == USER
        else settings.max_subscriptions_per_channel
    )
    items = [(q.text.strip(), str(q)) for _, q in parsed.queries]
    crossed = {i for i, (line, _) in enumerate(parsed.queries) if line in parsed.trending}
    try:
        batch = await app.subscriptions.add_many(
            dest.id, items, created_by=ctx.user.id, limit=limit, now=app.clock(), crossed=crossed
        )
    except SubscriptionLimitError as exc:
        held = await app.subscriptions.count_for(dest.id)
        raise CommandError(
            f"Nothing was imported: {scope_name(dest)} holds {held} of "
            f"{plural(exc.limit, 'subscription')} and the new queries would pass that. "
            "Remove some or import fewer, then try again."
        ) from None
    return [import_report(dest, batch, parsed)]


def import_report(dest: DestinationRow, batch: SubscriptionBatch, parsed: Parsed) -> Notice:
    """Added, duplicates and invalid lines, each named, in one notice."""
    rows: list[str] = []
    added = ", ".join(f"#{r.id} “{r.query}”" for r in batch.added)
    rows.append(f"Added {len(batch.added)}" + (f": {added}." if added else "."))
    if batch.duplicates:
        dups = ", ".join(f"#{sid}" for _, sid in batch.duplicates if sid)
        rows.append(
            f"{len(batch.duplicates)} already subscribed" + (f" ({dups})." if dups else ".")
        )
    if parsed.invalid:
        rows.append(f"{len(parsed.invalid)} invalid, not imported:")
        for bad in parsed.invalid[: subscription_file.MAX_LISTED]:
            rows.append(f"line {bad.line} {shown(bad.text)}: {bad.reason}")
        if len(parsed.invalid) > subscription_file.MAX_LISTED:
            rows.append(f"and {len(parsed.invalid) - subscription_file.MAX_LISTED} more.")
    tone = Tone.WARNING if parsed.invalid else Tone.SUCCESS
    head = f"Imported into the subscriptions of {scope_name(dest)}. "
    return Notice(head + "\n".join(rows), tone=tone, ephemeral=dest.kind == USER)


async def complete_subscription(ctx: Context, typed: str) -> list[tuple[str, str]]:
    """Offer the subscriptions of the caller's scope as (label "#12 query", value "12")."""
    options = ctx.incoming.options or {}
    personal = is_personal(ctx, options)
    scopes = [personal]
    if ctx.command.name == "why" and not personal:
        scopes.append(True)  # why reads the caller's personal ones too
    rows = await rows_in_scopes(ctx.app, ctx.user, ctx.place, scopes)
    needle = typed.strip().lstrip("#").lower()
    return [
        (f"#{r.id} {r.query}"[:100], str(r.id))
        for r in rows
        if not needle or str(r.id).startswith(needle) or needle in r.query.lower()
    ][:25]


COMPLETERS = {"subscription": complete_subscription}

COMMANDS = [
    Command(
        name="subscribe",
        help="Subscribe this channel (or yourself: --dm, or in a DM) to papers matching a query.",
        usage="subscribe <query> [--dm] [--when-crossed]",
        handler=subscribe_command,
        args=(
            Arg("query", "What to look for, e.g. diffusion -audio", rest=True),
            DM,
            WHEN_CROSSED,
        ),
        manages_channel=True,
        posts_here=True,
        slow=True,
        examples=(
            "subscribe diffusion -audio",
            'subscribe "chain of thought" OR reasoning upvotes>=10',
            "subscribe author:LeCun --dm",
            "subscribe title:(agent OR tool) keyword:benchmark",
            'subscribe "world model" upvotes>=50 --when-crossed',
        ),
    ),
    Command(
        name="unsubscribe",
        help="Remove a subscription of this channel, or one of yours (--dm or in a DM).",
        usage="unsubscribe <id> [--dm]",
        handler=unsubscribe_command,
        args=(
            Arg(
                "id",
                "The subscription's number, as /subscriptions lists it",
                autocomplete="subscription",
            ),
            DM,
        ),
        manages_channel=True,
        examples=("unsubscribe 12", "unsubscribe 7 --dm"),
    ),
    Command(
        name="subscriptions",
        help=(
            "List this channel's subscriptions and yours (with their matches of the last 7 "
            "days), export them as text, or import queries."
        ),
        usage="subscriptions [list | export | import <queries>] [--dm]",
        handler=subscriptions_command,
        args=(
            Arg(
                "action",
                "list (the default), export (as text to paste back) or import (queries)",
                required=False,
                kind="choice",
                choices=("list", "export", "import"),
            ),
            Arg(
                "queries",
                "For import: queries one a line or separated by ;, or an export's text",
                required=False,
                rest=True,
                max_length=IMPORT_MAX_CHARS,
            ),
            DM,
        ),
        slow=True,
        examples=(
            "subscriptions",
            "subscriptions export",
            'subscriptions import diffusion -audio; "world model" upvotes>=20',
            "subscriptions export --dm",
        ),
    ),
]
