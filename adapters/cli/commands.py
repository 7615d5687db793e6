"""The `paperbot` subcommands: each takes the parsed arguments and the services, gives a status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from adapters.cli import recommend, wiring
from adapters.cli.exits import EXIT_DELIVERY_PROBLEM, EXIT_POLL_FAILED
from adapters.cli.progress import ProgressBar
from bot.app import App

if TYPE_CHECKING:
    from bot.port import Adapter  # only `run` has adapters; bot.port loads the message types
    from bot.scheduler import DeliveryScheduler

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, App, dict[str, str]], Awaitable[int]]


async def _run(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from bot.services.ingest import ingest_day

    adapters = wiring.build_adapters(wiring.build_core(app), env)
    if not adapters:
        print("paperbot: no adapter to run", file=sys.stderr)
        return 2
    if not app.online:
        # The offline sample is today's list; store it so look-ups find it at once.
        await ingest_day(app, app.clock().date())
    log.info(
        "starting %s (papers from %s)",
        ", ".join(a.platform for a in adapters),
        "Hugging Face" if app.online else "the bundled sample",
    )
    from bot.scheduler import DeliveryScheduler

    scheduler = DeliveryScheduler(app, {a.platform: a for a in adapters})
    # Piped input is a script: its output must be the same at any hour, so no poll or digest
    # sweep runs beside it (a daily digest coming due mid-script would cut in). What its
    # commands queue ("digest now") is posted when the input ends.
    scripted = [a.platform for a in adapters] == ["console"] and not _stdin_is_terminal()
    ops = await wiring.start_operations(app, adapters)
    try:
        return await _serve(app, adapters, scheduler, scripted=scripted)
    finally:
        if ops is not None:
            await ops.stop()


async def _serve(
    app: App, adapters: list[Adapter], scheduler: DeliveryScheduler, *, scripted: bool
) -> int:
    """Run the adapters and the scheduler until a signal, or until an adapter stops."""
    from bot.supervision import Supervisor

    # Each chat adapter runs under its own supervisor: one crashing is restarted with
    # backoff while the other and the scheduler carry on. The console ends with its input.
    supervisors = {
        a.platform: Supervisor(a, app.health, app.clock)
        for a in adapters
        if a.platform != "console"
    }
    tasks = [
        asyncio.create_task(
            supervisors[a.platform].run() if a.platform in supervisors else a.start(),
            name=f"adapter-{a.platform}",
        )
        for a in adapters
    ]
    if not scripted:
        await scheduler.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals: list[int] = []

    def on_signal(sig: int) -> None:
        signals.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    if any(t.get_name() == "adapter-console" and not t.exception() for t in done):
        # End of piped input: post what commands such as "digest now" queued, then exit.
        await scheduler.sender.drain()
    await scheduler.stop()
    for a in adapters:
        await (supervisors[a.platform].stop() if a.platform in supervisors else a.stop())
    for t in [*tasks, stopper]:
        if not t.done():
            t.cancel()
    await asyncio.gather(*tasks, stopper, return_exceptions=True)
    failed = [t for t in done if t is not stopper and t.exception()]
    for t in failed:
        print(f"paperbot: {t.get_name()} stopped: {t.exception()}", file=sys.stderr)
    if failed:
        return 1
    # A service stopped by SIGTERM has done its job (0); the console, an interactive program,
    # answers like one: 130 after Ctrl-C, 143 after SIGTERM.
    if signals and [a.platform for a in adapters] == ["console"]:
        return 128 + signals[0]
    return 0


async def _digest(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    """One delivery round for cron: ingest, sweep, drain the outbox, exit."""
    from bot.scheduler import DeliveryScheduler

    adapters = wiring.build_adapters(wiring.build_core(app), env)
    scheduler = DeliveryScheduler(app, {a.platform: a for a in adapters})
    # Chat adapters must log in before they can post; the console posts to stdout as is.
    online = [a for a in adapters if a.platform != "console"]
    tasks = [asyncio.create_task(a.start(), name=f"adapter-{a.platform}") for a in online]
    try:
        swept, sent = await scheduler.run_once(ingest=not args.no_ingest)
    finally:
        for a in online:
            await a.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(
        f"digest run: {swept.queued} queued, {swept.waiting} waiting for papers, "
        f"{swept.skipped} skipped; {sent.sent} sent, {sent.retried} to retry, "
        f"{sent.disabled} destinations disabled"
    )
    # Cron and Kubernetes see only the exit status: make problems visible there.
    status = await app.state.ingest_status()
    if not args.no_ingest and status.failing:
        error = status.last_error or "unknown error"
        print(f"paperbot: polling the paper source failed: {error}", file=sys.stderr)
        return EXIT_POLL_FAILED
    waiting = await app.outbox.waiting_on_errors()
    if waiting or sent.failed or sent.disabled or sent.halted:
        waits = "1 message waits" if waiting == 1 else f"{waiting} messages wait"
        print(
            f"paperbot: {waits} for a retry after send errors, {sent.failed} failed, "
            f"{sent.disabled} destinations disabled; see status",
            file=sys.stderr,
        )
        return EXIT_DELIVERY_PROBLEM
    return 0


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


async def _ingest(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from bot.services.ingest import days_between, ingest_days, ingest_files

    bar = ProgressBar()
    if args.from_file:
        if args.save_dir is not None:
            print("paperbot: --save-dir goes with --date or --since", file=sys.stderr)
            return 2
        missing = [str(p) for p in args.from_file if not p.is_file()]
        if missing:
            print(f"paperbot: no such file: {missing[0]}", file=sys.stderr)
            return 2
        with bar.around_logs():
            report = await ingest_files(app, args.from_file, progress=bar)
    else:
        today = app.clock().date()
        first = args.date or args.since
        last = args.date or args.until or today
        if first > today or last > today:
            print(
                "paperbot: that date is in the future; Daily Papers has no list for it yet",
                file=sys.stderr,
            )
            return 2
        if first > last:
            print("paperbot: --since is after --until", file=sys.stderr)
            return 2
        if args.save_dir is not None:
            from bot.sources.huggingface import HuggingFaceClient
            from bot.sources.saving import SavingSource

            if args.save_dir.exists() and not args.save_dir.is_dir():
                print(f"paperbot: --save-dir {args.save_dir} is not a folder", file=sys.stderr)
                return 2
            if not isinstance(app.source, HuggingFaceClient):  # fetching days means the API
                print("paperbot: --save-dir saves Hugging Face's answers only", file=sys.stderr)
                return 2
            app.source = SavingSource(app.source, args.save_dir)
        with bar.around_logs():
            report = await ingest_days(app, days_between(first, last), progress=bar)
    for err in report.errors:
        print(f"paperbot: skipped {err}", file=sys.stderr)
    if report.stats.titles:
        # Build and store the title index now, for the new titles: the operator's next
        # `paperbot lookup "<title words>"` reads it back instead of folding every title.
        await app.title_index()
    total = await app.papers.count()
    print(
        f"ingested {report.items} items: {report.stats}; {report.skipped} malformed skipped; "
        f"{total} papers stored"
    )
    return 1 if report.errors else 0


async def _lookup(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from adapters.cli.quick import print_found
    from bot.errors import CommandError
    from bot.services.lookup import lookup_papers

    query = " ".join(args.query).strip()
    if not query:
        print(
            "paperbot: give an arXiv id, an arXiv or Hugging Face URL, or title words",
            file=sys.stderr,
        )
        return 2
    try:
        papers = (await lookup_papers(app, query)).papers
    except CommandError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 1
    return print_found(papers, as_json=args.json, query=query)


async def _papers(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from bot.errors import UsageError
    from bot.services.papers import MAX_LIMIT, parse_day

    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"paperbot: --limit must be from 1 to {MAX_LIMIT}", file=sys.stderr)
        return 2
    try:
        day = parse_day(args.date, app.clock().date())
    except UsageError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 2
    papers = await app.papers.featured_on(day, limit=args.limit)
    if args.json:
        print(json.dumps([p.to_json() for p in papers], ensure_ascii=False, indent=2))
    else:
        for p in papers:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}")
    if not papers:
        print(
            f"paperbot: no Daily Papers stored for {day.strftime('%A')} {day.isoformat()}; "
            f"fetch them with: paperbot ingest --date {day.isoformat()}",
            file=sys.stderr,
        )
        return 1
    return 0


async def _search(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from bot.query import QueryError
    from bot.services.queries import read_query
    from bot.services.search import reason_lines, recent_papers, search_papers

    typed = " ".join(args.query)
    query = read_query(typed)
    if isinstance(query, QueryError):
        print(f"paperbot: {query}; a valid query looks like: {query.example}", file=sys.stderr)
        return 2
    if not args.all and args.days < 1:
        print("paperbot: --days must be at least 1", file=sys.stderr)
        return 2
    papers = await (app.papers.all_papers() if args.all else recent_papers(app, args.days))
    found = await search_papers(papers, query)
    if args.json:
        out = [{**p.to_json(), "reasons": list(reason_lines(m.reasons))} for p, m in found]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for p, m in found:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}\t{'; '.join(reason_lines(m.reasons))}")
        where = "stored papers" if args.all else f"papers of the last {args.days} days"
        print(f"{len(found)} of {len(papers)} {where} match {typed!r}", file=sys.stderr)
        if not found and not args.all:
            await _hint_older_days(app, args.days)
    return 0 if found else 1


async def _hint_older_days(app: App, days: int) -> None:
    """Say so when a search found nothing because every stored day is older than the window."""
    newest = await app.papers.latest_day()
    if newest is None:
        print("paperbot: no papers are stored yet; try `paperbot ingest`", file=sys.stderr)
        return
    age = (app.clock().date() - newest).days
    if age >= days:
        print(
            f"paperbot: the newest stored papers are from {newest} ({age} days ago); "
            f"search them with --all or --days {age + 1}",
            file=sys.stderr,
        )


HANDLERS: dict[str, Handler] = {
    "run": _run,
    "digest": _digest,
    "ingest": _ingest,
    "lookup": _lookup,
    "papers": _papers,
    "search": _search,
    "recommend": recommend.recommend,
    "similar": recommend.similar,
}
