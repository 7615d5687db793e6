"""export saved: the file formats on hand-made papers, and the dialogue on both backends."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.core import Core
from bot.export.formats import bibtex_escape, to_bibtex, to_json, to_ris
from bot.messages import FileReply, Notice, Tone
from bot.papers import Paper
from bot.sources.huggingface import parse_daily_items
from tests.helpers import MEMBER, FakeClock, TestBot, daily_item

TRICKY = Paper(
    id="2412.17747",
    title="50% faster {KV} caches & $O(n)$ attention_heads #1 ~ ^ \\ for Gödel",
    abstract="Line one.\nLine two.",
    authors=("José Núñez", "Research and Development Team", "Ada Lovelace"),
    published_at=datetime(2024, 12, 23, tzinfo=UTC),
)
BARE = Paper(id="2501.00001", title="A title", authors=())


def test_bibtex_carries_the_facts_and_escapes_latex_specials() -> None:
    bib = to_bibtex([TRICKY])
    assert bib == (
        "@misc{arxiv:2412.17747,\n"
        r"  title = {50\% faster \{KV\} caches \& \$O(n)\$ attention\_heads \#1 "
        r"\textasciitilde{} \textasciicircum{} \textbackslash{} for Gödel},"
        "\n"
        "  author = {José Núñez and {Research and Development Team} and Ada Lovelace},\n"
        "  year = {2024},\n"
        "  eprint = {2412.17747},\n"
        "  archivePrefix = {arXiv},\n"
        "  url = {https://arxiv.org/abs/2412.17747}\n"
        "}\n"
    )
    # Every brace the file has is one it opened: a title cannot unbalance the file.
    depth = 0
    for i, ch in enumerate(bib):
        if ch in "{}" and bib[i - 1] != "\\":
            depth += 1 if ch == "{" else -1
            assert depth >= 0
    assert depth == 0


def test_bibtex_invents_nothing_it_does_not_know() -> None:
    bib = to_bibtex([BARE])
    assert "author" not in bib and "month" not in bib and "doi" not in bib
    # The year a new-style arXiv id names (YYMM) is the year it was submitted.
    assert "year = {2025}" in bib
    assert bibtex_escape("a\n  b") == "a b"


def test_ris_and_json() -> None:
    ris = to_ris([TRICKY, BARE])
    entries = ris.split("ER  - \r\n")
    assert len(entries) == 3 and entries[2] == ""
    first = entries[0].split("\r\n")
    assert first[:2] == ["TY  - UNPB", f"TI  - {TRICKY.title}"]
    assert "AU  - José Núñez" in first and "PY  - 2024" in first and "DA  - 2024/12/23" in first
    assert "AB  - Line one. Line two." in first  # one line: RIS is a line format
    assert "AN  - arXiv:2412.17747" in first and "UR  - https://arxiv.org/abs/2412.17747" in first
    assert not any(line.startswith("AU") for line in entries[1].split("\r\n"))
    data = json.loads(to_json([TRICKY]))
    assert data[0]["id"] == "2412.17747" and data[0]["authors"][0] == "José Núñez"


@pytest.fixture
async def saver(bot: TestBot) -> TestBot:
    items = [
        daily_item("2412.20001", "Sparse & {braced} attention", day="2024-12-20"),
        daily_item("2412.20002", "Second paper", day="2024-12-21", authors=("Émile Borel",)),
    ]
    papers, _ = parse_daily_items(items, None)
    await bot.app.papers.upsert(papers, now=bot.app.clock() - timedelta(minutes=5))
    return bot


async def test_export_saved_sends_a_file_in_each_format(saver: TestBot, clock: FakeClock) -> None:
    [empty] = await saver.say("/export saved bibtex")
    assert isinstance(empty, Notice) and empty.ephemeral
    assert empty.text == (
        "You have no saved papers to export. Save one with /save <id>, then export again."
    )
    await saver.say("/save 2412.20001")
    clock.advance(minutes=1)
    await saver.say("/save 2412.20002")
    [bib] = await saver.say("/export saved bibtex")
    assert isinstance(bib, FileReply) and bib.ephemeral
    assert bib.filename == "paperbot-saved.bib" and bib.media_type == "application/x-bibtex"
    assert bib.text == "Your 2 saved papers as BibTeX."
    text = bib.content.decode()
    assert text.count("@misc{") == 2 and r"Sparse \& \{braced\} attention" in text
    assert "author = {Émile Borel}" in text and "eprint = {2412.20002}" in text
    # Most recently saved first, as /saved lists them.
    assert text.index("2412.20002") < text.index("2412.20001")
    [ris] = await saver.say("/export saved ris")
    assert isinstance(ris, FileReply) and ris.filename == "paperbot-saved.ris"
    assert ris.content.decode().count("TY  - UNPB") == 2
    [js] = await saver.say("/export saved json")
    assert isinstance(js, FileReply)
    assert [p["id"] for p in json.loads(js.content)] == ["2412.20002", "2412.20001"]
    # Someone else's export is their own: nothing saved.
    [theirs] = await saver.say("/export saved json", user=MEMBER)
    assert isinstance(theirs, Notice) and "no saved papers" in theirs.text


async def test_an_unknown_format_names_the_ones_there_are(saver: TestBot) -> None:
    [reply] = await saver.say("/export saved endnote")
    assert isinstance(reply, Notice) and reply.tone is Tone.ERROR
    assert reply.text == "format must be one of: bibtex, ris, json."
    assert reply.usage == "/export saved <bibtex | ris | json>"
    [reply] = await saver.say("/export saved")
    assert reply.tone is Tone.ERROR and reply.usage == "/export saved <bibtex | ris | json>"


async def test_console_prints_the_file_or_writes_it(saver: TestBot, tmp_path: Path) -> None:
    core = Core(saver.app, saver.core.registry)
    out = io.StringIO()
    typed = "/save 2412.20001\n/export saved bibtex\n"
    await ConsoleAdapter(core, io.StringIO(typed), out).start()
    printed = out.getvalue()
    assert "----- paperbot-saved.bib -----" in printed and "@misc{arxiv:2412.20001," in printed
    out = io.StringIO()
    adapter = ConsoleAdapter(core, io.StringIO("/export saved ris\n"), out, files_dir=tmp_path)
    await adapter.start()
    assert f"Written to {tmp_path / 'paperbot-saved.ris'}" in out.getvalue()
    assert (tmp_path / "paperbot-saved.ris").read_bytes().startswith(b"TY  - UNPB\r\n")
