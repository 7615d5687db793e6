"""rate, save, saved, recommend, similar and forget me: what readers tell the bot, and what
it recommends back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.registry import Arg, Command, Context, shown
from bot.commands.schedule import ok, target
from bot.errors import CommandError, UsageError
from bot.messages import Feedback, Notice, PaperAction, PaperItem, PaperList, Reply, Tone
from bot.papers import Paper, normalize_arxiv_id
from bot.plural import plural
from bot.recommend.digests import RELEVANCE, UPVOTES
from bot.services.lookup import sample_id
from bot.storage.destinations_repo import describe
from bot.storage.feedback_repo import DOWN, UP, Person, Taste

MAX_SAVED = 100  # papers `saved` lists; Discord pages them, text platforms show them all
DEFAULT_DAYS = 7
MAX_DAYS = 90
RECOMMEND_LIMIT = 10
SIMILAR_LIMIT = 5
_RATINGS = {"up": UP, "down": DOWN, "clear": None}


def person(ctx: Context) -> Person:
    return Person(ctx.user.platform, ctx.user.id)


def reader_name(who: Person) -> str:
    """The reader's name for the model: seeds their sample, keys their fitted model."""
    return f"user:{who.platform}:{who.user_id}"


async def stored_paper(ctx: Context, text: str) -> Paper:
    """The stored paper an id or link names; CommandError saying how to find one otherwise."""
    word = text.strip()
    pid = normalize_arxiv_id(word) or sample_id(word)
    prefix = ctx.incoming.prefix
    if pid is None:
        raise UsageError(
            f"{shown(word)} is not a paper id; give an arXiv id (2412.17747) or an arXiv or "
            f"Hugging Face link. Find one with {prefix}paper <title words>."
        )
    paper = await ctx.app.papers.get(pid)
    if paper is None:
        raise CommandError(
            f"Paper {pid} is not among the stored Daily Papers, so it cannot be rated, saved "
            f"or compared. Look it up with {prefix}paper {pid}."
        )
    return paper


def _place_id(ctx: Context) -> str | None:
    """The channel feedback counts for (a channel's taste); None in a DM."""
    return None if ctx.place.is_dm else ctx.place.id


async def rate_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Rate a paper 👍 (up) or 👎 (down), or clear your rating: it tunes what you are shown."""
    paper = await stored_paper(ctx, args["paper"])
    choice = args["rating"]
    value = _RATINGS[choice]
    before = await ctx.app.feedback.rate(
        person(ctx), paper.id, value, place_id=_place_id(ctx), now=ctx.app.clock()
    )
    prefix = ctx.incoming.prefix
    if value is None:
        if before is None:
            return [Notice(f"You had not rated {paper.id}.", ephemeral=True)]
        back = Feedback.UP if before == UP else Feedback.DOWN
        return [
            Notice(
                f"Cleared your rating of {paper.id}.",
                tone=Tone.SUCCESS,
                ephemeral=True,
                undo=PaperAction(paper.id, back),
            )
        ]
    mark = "👍" if value == UP else "👎"
    back = Feedback.CLEAR if before is None else Feedback.UP if before == UP else Feedback.DOWN
    return [
        Notice(
            f"{mark} Rated {paper.id} “{paper.title}”. Undo: {prefix}rate {paper.id} {back}",
            tone=Tone.SUCCESS,
            ephemeral=True,
            undo=PaperAction(paper.id, back),
        )
    ]


async def save_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Save a paper to your list (🔖); it also counts as liking it."""
    paper = await stored_paper(ctx, args["paper"])
    added = await ctx.app.feedback.save(
        person(ctx), paper.id, place_id=_place_id(ctx), now=ctx.app.clock()
    )
    prefix = ctx.incoming.prefix
    if not added:
        return [Notice(f"{paper.id} is saved already. See {prefix}saved.", ephemeral=True)]
    return [
        Notice(
            f"🔖 Saved {paper.id} “{paper.title}”. Undo: {prefix}unsave {paper.id}",
            tone=Tone.SUCCESS,
            ephemeral=True,
            undo=PaperAction(paper.id, Feedback.UNSAVE),
        )
    ]


async def unsave_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Take a paper off your saved list."""
    paper = await stored_paper(ctx, args["paper"])
    removed = await ctx.app.feedback.unsave(person(ctx), paper.id)
    if not removed:
        return [Notice(f"{paper.id} was not on your saved list.", ephemeral=True)]
    return [
        Notice(
            f"Removed {paper.id} from your saved list.",
            tone=Tone.SUCCESS,
            ephemeral=True,
            undo=PaperAction(paper.id, Feedback.SAVE),
        )
    ]


async def saved_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """List the papers you saved, most recent first."""
    ids = await ctx.app.feedback.saved(person(ctx))
    papers = {p.id: p for p in await ctx.app.papers.get_many(ids[:MAX_SAVED])}
    items = tuple(PaperItem(papers[pid]) for pid in ids[:MAX_SAVED] if pid in papers)
    footer = None
    if len(ids) > MAX_SAVED:
        footer = f"and {len(ids) - MAX_SAVED} older ones."
    return [
        PaperList(
            title=f"Your saved papers ({plural(len(ids), 'paper')})",
            items=items,
            footer=footer,
            empty_text=f"Nothing saved yet. Save a paper with {ctx.incoming.prefix}save <id>.",
            ephemeral=True,
        )
    ]


async def recommend_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Your top papers of the last days that you have not rated, each with why."""
    days = args.get("days") or DEFAULT_DAYS
    app = ctx.app
    today = app.clock().date()
    window = await app.papers.featured_between(today - timedelta(days=days - 1), today)
    who = person(ctx)
    taste = await app.feedback.taste(who)
    known = set(taste.ratings) | set(taste.saved)
    candidates = [p.id for p in window if p.id not in known]
    prefix = ctx.incoming.prefix
    if not candidates:
        return [
            Notice(
                f"No unrated papers in the last {plural(days, 'day')}. "
                f"Look further back with {prefix}recommend --days {min(days * 2, MAX_DAYS)}.",
                ephemeral=True,
            )
        ]
    ranked = await app.recommender.rank(reader_name(who), taste, candidates, limit=RECOMMEND_LIMIT)
    by_id = {p.id: p for p in window}
    cold = taste.size < 5
    footer = (
        f"Rate papers ({prefix}rate <id> up|down) to tune this: with fewer than 5 ratings it "
        "follows upvotes."
        if cold
        else None
    )
    return [
        PaperList(
            title=f"Recommended for you — last {plural(days, 'day')}",
            items=tuple(PaperItem(by_id[r.paper_id], reasons=(r.reason(),)) for r in ranked),
            footer=footer,
            ephemeral=True,
        )
    ]


async def recommendation_reason(ctx: Context, paper: Paper) -> str | None:
    """Why `recommend` would offer this paper to the caller, once they have rated any."""
    who = person(ctx)
    taste = await ctx.app.feedback.taste(who)
    if not taste.size or await ctx.app.papers.get(paper.id) is None:
        return None
    ranked = await ctx.app.recommender.rank(reader_name(who), taste, [paper.id])
    if not ranked:
        return None
    return f"recommended: {ranked[0].reason()} (from your {taste_summary(taste)})"


def taste_summary(taste: Taste) -> str:
    return f"{plural(len(taste.liked), 'like')}, {plural(len(taste.disliked), 'dislike')}"


async def similar_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show the stored papers most like one (by their words)."""
    paper = await stored_paper(ctx, args["paper"])
    near = await ctx.app.recommender.similar(paper.id, SIMILAR_LIMIT)
    papers = {p.id: p for p in await ctx.app.papers.get_many([pid for pid, _ in near])}
    items = tuple(
        PaperItem(papers[pid], reasons=(f"{round(sim * 100)}% alike",))
        for pid, sim in near
        if pid in papers
    )
    return [
        PaperList(
            title=f"Papers like {paper.id} “{paper.title}”",
            items=items,
            empty_text="No stored paper shares enough words with it.",
            ephemeral=True,
        )
    ]


async def forget_me_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Delete everything stored about you: subscriptions, ratings, saves, alert settings."""
    prefix = ctx.incoming.prefix
    if args.get("confirm") != "confirm":
        return [
            Notice(
                "This deletes your personal subscriptions and alert settings, your ratings, "
                "saved papers and preferences, for good. Subscriptions you added to a channel "
                "stay with the channel, no longer naming you. To go ahead: "
                f"{prefix}forget me confirm",
                tone=Tone.WARNING,
                ephemeral=True,
            )
        ]
    gone = await ctx.app.feedback.forget(person(ctx))
    return [
        Notice(
            "Done: deleted "
            f"{plural(gone.subscriptions, 'personal subscription')}, "
            f"{plural(gone.ratings, 'rating')}, {plural(gone.saves, 'saved paper')} and "
            "your alert settings. Nothing about you is stored any more.",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def digest_rank_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Order digests here by predicted relevance (from ratings given here) or by upvotes."""
    row, note = await target(ctx)
    choice = args["order"]
    await ctx.app.feedback.set_setting(
        row.platform, row.kind, row.external_id, digest_rank=choice, now=ctx.app.clock()
    )
    if choice == UPVOTES:
        return ok(f"Digests for {describe(row)} list the most upvoted papers first.{note}")
    return ok(
        f"Digests for {describe(row)} list the papers that ratings here predict best first "
        f"(upvotes break ties); which papers they list is still up to the subscriptions. "
        f"Rate papers with {ctx.incoming.prefix}rate <id> up|down.{note}"
    )


PAPER = Arg("paper", "An arXiv id or an arXiv/Hugging Face link")

COMMANDS = [
    Command(
        name="rate",
        help="Rate a paper up (more like this) or down (not for me), or clear your rating.",
        usage="rate <paper> <up | down | clear>",
        handler=rate_command,
        args=(PAPER, Arg("rating", "up, down or clear", kind="choice", choices=tuple(_RATINGS))),
        ephemeral=True,
        examples=("rate 2412.17747 up",),
    ),
    Command(
        name="save",
        help="Save a paper to your list (it counts as liking it).",
        usage="save <paper>",
        handler=save_command,
        args=(PAPER,),
        ephemeral=True,
        examples=("save 2412.17747",),
    ),
    Command(
        name="unsave",
        help="Take a paper off your saved list.",
        usage="unsave <paper>",
        handler=unsave_command,
        args=(PAPER,),
        ephemeral=True,
    ),
    Command(
        name="saved",
        help="List the papers you saved.",
        usage="saved",
        handler=saved_command,
        ephemeral=True,
    ),
    Command(
        name="recommend",
        help="Your top unrated papers of the last days (default 7), each with why.",
        usage="recommend [--days N]",
        handler=recommend_command,
        args=(
            Arg(
                "days",
                f"How many days back (1-{MAX_DAYS})",
                required=False,
                kind="int",
                min_value=1,
                max_value=MAX_DAYS,
                flag="--days",
                example="14",
            ),
        ),
        ephemeral=True,
        slow=True,
        examples=("recommend", "recommend --days 14"),
    ),
    Command(
        name="similar",
        help="Show the stored papers most like one.",
        usage="similar <paper>",
        handler=similar_command,
        args=(PAPER,),
        ephemeral=True,
        slow=True,
        examples=("similar 2412.17747",),
    ),
    Command(
        name="digest rank",
        help="Order digests here by relevance (from ratings given here) or by upvotes.",
        usage="digest rank <relevance | upvotes>",
        handler=digest_rank_command,
        args=(
            Arg(
                "order",
                "relevance or upvotes",
                kind="choice",
                choices=(RELEVANCE, UPVOTES),
            ),
        ),
        manages_channel=True,
        examples=("digest rank relevance",),
    ),
    Command(
        name="forget me",
        help="Delete everything stored about you (asks you to confirm first).",
        usage="forget me [confirm]",
        handler=forget_me_command,
        args=(
            Arg(
                "confirm",
                "Type confirm to delete",
                required=False,
                kind="choice",
                choices=("confirm",),
            ),
        ),
        ephemeral=True,
    ),
]
