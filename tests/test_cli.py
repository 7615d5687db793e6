"""The `paperbot` command line, run as a user would: a real process, real files, real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.hf_server import FakeHF
from tests.helpers import daily_item

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Deliberation in Latent Space via Differentiable Cache Augmentation"


async def paperbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str, str]:
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'bot.sqlite3'}",
        **(env or {}),
    }
    for var in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "PAPERS_SOURCE", "LOG_LEVEL"):
        if var not in (env or {}):
            full_env.pop(var, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        *args,
        cwd=cwd,
        env=full_env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 120)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def saved_days(tmp_path: Path) -> list[Path]:
    """Two saved daily_papers responses, as `GET /api/daily_papers?date=` returns them."""
    days = {
        "2025-01-06": [
            daily_item(
                "2501.02001",
                "Sparse Rehearsal for Small Language Models",
                day="2025-01-06",
                upvotes=40,
            ),
            daily_item(
                "2501.02002", "Latent Diffusion for Protein Folding", day="2025-01-06", upvotes=12
            ),
        ],
        "2025-01-07": [
            daily_item("2501.03001", TITLE, day="2025-01-07", upvotes=77),
            # featured again a day later: still one row
            daily_item(
                "2501.02002", "Latent Diffusion for Protein Folding", day="2025-01-07", upvotes=15
            ),
            {"paper": {"id": "broken"}},  # malformed: skipped, the rest ingested
        ],
    }
    paths = []
    for day, items in days.items():
        path = tmp_path / f"{day}.json"
        path.write_text(json.dumps(items), encoding="utf-8")
        paths.append(path)
    return paths


async def test_ingest_from_files_is_an_upsert(tmp_path: Path, saved_days: list[Path]) -> None:
    files = [str(p) for p in saved_days]
    code, out, err = await paperbot("ingest", "--from-file", *files, cwd=tmp_path)
    assert code == 0, err
    assert "3 papers stored" in out
    assert "1 malformed skipped" in out
    code, out, err = await paperbot("ingest", "--from-file", *files, cwd=tmp_path)
    assert code == 0, err
    assert "0 new" in out and "3 papers stored" in out

    code, out, _ = await paperbot("papers", "--date", "2025-01-07", "--json", cwd=tmp_path)
    listed = json.loads(out)
    assert [p["id"] for p in listed] == ["2501.03001", "2501.02002"]
    assert listed[1]["upvotes"] == 15
    assert listed[1]["featured_on"] == ["2025-01-06", "2025-01-07"]


async def test_lookup_json_finds_a_title_with_two_typos(
    tmp_path: Path, saved_days: list[Path]
) -> None:
    await paperbot("ingest", "--from-file", *map(str, saved_days), cwd=tmp_path)
    code, out, err = await paperbot(
        "lookup",
        "Deliberaton in Latent Spase via Differentiable Cache Augmentation",
        "--json",
        cwd=tmp_path,
    )
    assert code == 0, err
    found = json.loads(out)
    assert found[0]["id"] == "2501.03001"
    assert set(found[0]) >= {"id", "title", "authors", "upvotes", "url"}
    assert found[0]["url"] == "https://huggingface.co/papers/2501.03001"


async def test_lookup_falls_back_to_hf_search_then_arxiv(tmp_path: Path) -> None:
    async with FakeHF() as hf, FakeArxiv() as arxiv:
        env = {"HF_API_URL": hf.url, "ARXIV_API_URL": arxiv.url}
        code, out, err = await paperbot(
            "lookup", "nonsense query xyz", "--json", cwd=tmp_path, env=env
        )
        assert code == 1, err
        assert json.loads(out) == []
        assert hf.paths() == ["/api/papers/search"]
        assert hf.requests[0].query["q"] == "nonsense query xyz"
        assert len(arxiv.hits) == 1 and "ti:" in arxiv.hits[0].query["search_query"]


async def test_lookup_by_id_asks_hugging_face_and_stores_the_paper(tmp_path: Path) -> None:
    async with FakeHF() as hf:
        item = daily_item("2412.17747", TITLE, day="2024-12-24", upvotes=9)
        hf.papers["2412.17747"] = {**item["paper"], "numComments": 0}  # type: ignore[dict-item]
        env = {"HF_API_URL": hf.url}
        code, out, err = await paperbot("lookup", "2412.17747v2", "--json", cwd=tmp_path, env=env)
        assert code == 0, err
        assert json.loads(out)[0]["title"] == TITLE
        code, out, err = await paperbot("lookup", "2412.17747", cwd=tmp_path, env=env)
        assert out.startswith("2412.17747\t")
        assert hf.paths() == ["/api/papers/2412.17747"]  # the second look-up was local


async def test_ingest_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = await paperbot("ingest", "--from-file", "nope.json", cwd=tmp_path)
    assert code == 2
    assert err.strip().splitlines()[-1] == "paperbot: no such file: nope.json"
    assert "Traceback" not in err


async def test_ingest_dates_from_the_api(tmp_path: Path) -> None:
    async with FakeHF() as hf:
        hf.days["2025-01-06"] = [daily_item("2501.02001", "Sparse Rehearsal", day="2025-01-06")]
        hf.days["2025-01-07"] = [daily_item("2501.03001", TITLE, day="2025-01-07")]
        env = {"HF_API_URL": hf.url, "HF_TOKEN": "hf_test_token"}
        code, out, err = await paperbot(
            "ingest", "--since", "2025-01-05", "--until", "2025-01-07", cwd=tmp_path, env=env
        )
        assert code == 0, err
        assert "2 papers stored" in out
        assert [r.query["date"] for r in hf.requests] == ["2025-01-05", "2025-01-06", "2025-01-07"]
        assert all(r.headers["Authorization"] == "Bearer hf_test_token" for r in hf.requests)
        assert "hf_test_token" not in out + err


async def test_ingest_saves_each_day_as_answered_and_the_files_import_alike(
    tmp_path: Path,
) -> None:
    """`--save-dir` keeps Hugging Face's answers: the files `--from-file` and the benches'
    `--data` read, giving the same papers as the fetch."""
    async with FakeHF() as hf:
        hf.days["2025-01-06"] = [
            daily_item("2501.02001", "Sparse Rehearsal", day="2025-01-06"),
            {"paper": {"id": "broken"}},  # kept in the file as it came, skipped on import
        ]
        hf.days["2025-01-07"] = [daily_item("2501.03001", TITLE, day="2025-01-07")]
        env = {"HF_API_URL": hf.url}
        saved = tmp_path / "days"
        code, out, err = await paperbot(
            "ingest",
            "--since",
            "2025-01-05",
            "--until",
            "2025-01-07",
            "--save-dir",
            str(saved),
            cwd=tmp_path,
            env=env,
        )
        assert code == 0, err
        answered = {d: hf.days[d] for d in ("2025-01-06", "2025-01-07")}
    # 2025-01-05 (a Sunday) had no list: no file for it.
    assert sorted(p.name for p in saved.iterdir()) == ["2025-01-06.json", "2025-01-07.json"]
    for day, items in answered.items():
        assert json.loads((saved / f"{day}.json").read_text()) == items
    fetched = await paperbot("papers", "--date", "2025-01-07", "--json", cwd=tmp_path, env=env)
    other = tmp_path / "again"
    other.mkdir()
    files = sorted(str(p) for p in saved.iterdir())
    code, out, err = await paperbot("ingest", "--from-file", *files, cwd=other)
    assert code == 0 and "2 papers stored" in out, err
    imported = await paperbot("papers", "--date", "2025-01-07", "--json", cwd=other)
    assert json.loads(imported[1]) == json.loads(fetched[1])


async def test_ingest_save_dir_goes_with_fetches_only(tmp_path: Path) -> None:
    code, _, err = await paperbot(
        "ingest", "--from-file", "x.json", "--save-dir", "out", cwd=tmp_path
    )
    assert code == 2
    assert err.strip().splitlines()[-1] == "paperbot: --save-dir goes with --date or --since"


async def test_ingest_refuses_a_future_date(tmp_path: Path) -> None:
    code, _, err = await paperbot("ingest", "--date", "2999-01-01", cwd=tmp_path)
    assert code == 2
    assert "in the future" in err


async def test_offline_console_demo(tmp_path: Path) -> None:
    lines = (
        "/papers today\n/paper deliberation in latent space\n/paper 2412.17747\n"
        "/paper nonsense query xyz\n"
    )
    code, out, err = await paperbot("run", cwd=tmp_path, stdin=lines)
    assert code == 0, err
    blocks = out.split("\n> ")
    assert "76 papers" in blocks[0] and TITLE in blocks[0]
    assert blocks[1].startswith("/paper deliberation in latent space\n━━ " + TITLE)
    assert "not in the local database" in blocks[2]
    assert "No paper matches 'nonsense query xyz'" in blocks[3]
    assert "INFO" not in err  # the demo's terminal is not flooded with logs


async def test_console_demo_posts_a_digest_queued_before_the_input_ends(tmp_path: Path) -> None:
    lines = "/subscribe diffusion -audio\n/digest now\n"
    code, out, err = await paperbot("run", cwd=tmp_path, stdin=lines)
    assert code == 0, err
    posted = out.split("[posted to #console]\n", 1)[1]
    assert posted.startswith("== Daily Papers digest (16 papers)")
    assert "Understanding Hallucinations in Diffusion Models" in posted


async def test_ingest_names_each_unreadable_file_and_keeps_the_good_ones(
    tmp_path: Path, saved_days: list[Path]
) -> None:
    (tmp_path / "notjson.json").write_text("<html>rate limited</html>", encoding="utf-8")
    (tmp_path / "object.json").write_text('{"error": "Too big"}', encoding="utf-8")
    (tmp_path / "empty.json").write_text("[]", encoding="utf-8")
    files = ["notjson.json", "object.json", "empty.json", str(saved_days[0])]
    code, out, err = await paperbot("ingest", "--from-file", *files, cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in err
    assert (
        "paperbot: skipped notjson.json: not JSON (line 1, column 1); expected a saved "
        "GET /api/daily_papers response, a JSON array" in err
    )
    assert (
        "paperbot: skipped object.json: a JSON object, not an array; expected a saved "
        "GET /api/daily_papers response, a JSON array" in err
    )
    assert "empty.json" not in err  # an empty day (a weekend) is normal
    assert "2 new" in out and "2 papers stored" in out


async def test_papers_limit_must_be_positive_and_an_empty_day_says_so(tmp_path: Path) -> None:
    for limit in ("0", "-5"):
        code, out, err = await paperbot("papers", "--limit", limit, cwd=tmp_path)
        assert (code, out) == (2, ""), err
        assert err.strip().splitlines()[-1] == "paperbot: --limit must be from 1 to 100"
    code, out, err = await paperbot("papers", "--date", "2025-01-04", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1] == (
        "paperbot: no Daily Papers stored for Saturday 2025-01-04; "
        "fetch them with: paperbot ingest --date 2025-01-04"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite+aiosqlite:///{tmp}/no/such/dir/bot.sqlite3", "unable to open database file"),
        ("postgresql+asyncpg://paperbot:s3cret@127.0.0.1:1/paperbot", "Connect call failed"),
    ],
)
async def test_an_unreachable_database_is_one_clear_line(
    tmp_path: Path, url: str, reason: str
) -> None:
    env = {"DATABASE_URL": url.format(tmp=tmp_path)}
    code, out, err = await paperbot("papers", cwd=tmp_path, env=env)
    assert out == ""
    assert code == 1
    assert "Traceback" not in err and "s3cret" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("paperbot: cannot open the database at ")
    assert reason in line and line.endswith("check DATABASE_URL and that the database is up.")


async def test_lookup_of_nothing_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = await paperbot("lookup", "  ", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        "paperbot: give an arXiv id, an arXiv or Hugging Face URL, or title words"
    )


async def test_output_piped_into_a_closed_reader_ends_quietly(
    tmp_path: Path, saved_days: list[Path]
) -> None:
    """`paperbot papers --json | head -1`: the reader goes away before we finish writing."""
    await paperbot("ingest", "--from-file", *map(str, saved_days), cwd=tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "adapters.cli", "papers", "--date", "2025-01-07", "--json"),
        cwd=tmp_path,
        env=env,
        stdout=write_end,
        stderr=asyncio.subprocess.PIPE,
    )
    os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1
    assert "Traceback" not in err.decode() and "BrokenPipeError" not in err.decode()


def _env(cwd: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'bot.sqlite3'}",
        **extra,
    }
    for var in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "PAPERS_SOURCE", "LOG_LEVEL"):
        if var not in extra:
            env.pop(var, None)
    return env


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_the_console_stops_at_once_while_it_waits_for_input(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "adapters.cli", "run"),
        cwd=tmp_path,
        env=_env(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"/help\n")
        await proc.stdin.drain()
        # Ready: the answer to /help is out, and the console waits for the next line
        # (stdin stays open).
        await asyncio.wait_for(proc.stdout.readuntil(b"> /help\n"), 60)
        await asyncio.wait_for(proc.stdout.readuntil(b"\n\n"), 30)
        proc.send_signal(sig)
        await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == code
    assert proc.stderr is not None
    assert "Traceback" not in (await proc.stderr.read()).decode()


async def test_run_without_a_platform_or_any_input_says_so_and_exits_2(tmp_path: Path) -> None:
    """systemd or `docker run` without -i: stdin is /dev/null, or closed."""
    for stdin in ("/dev/null", "closed"):
        redirect = "exec 0</dev/null" if stdin == "/dev/null" else "exec 0<&-"
        proc = await asyncio.create_subprocess_exec(
            *("sh", "-c", f'{redirect}; exec "$0" -m adapters.cli run', sys.executable),
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert (proc.returncode, out) == (2, b""), (stdin, err)
        assert err.decode().splitlines() == [
            "paperbot: no chat platform is configured (set DISCORD_TOKEN or SLACK_BOT_TOKEN); "
            "the console needs a terminal or piped input"
        ]
        assert not (tmp_path / "bot.sqlite3").exists()  # nothing was set up for no one


async def test_the_demo_never_touches_real_data(tmp_path: Path, saved_days: list[Path]) -> None:
    """The bundled sample (ids sample-NN) never shows beside real Hugging Face papers."""
    files = [str(p) for p in saved_days]
    offline = {"HF_API_URL": "http://127.0.0.1:9", "ARXIV_API_URL": "http://127.0.0.1:9"}
    default = {**offline, "DATABASE_URL": ""}  # unset: paperbot.sqlite3 in the cwd
    code, _, err = await paperbot("ingest", "--from-file", *files, cwd=tmp_path, env=default)
    assert code == 0, err

    async def shown(env: dict[str, str]) -> list[str]:
        ids = []
        for args in (
            ("papers", "--date", "2025-01-07", "--json"),
            ("lookup", TITLE, "--json"),
            ("search", "--all", "--json", "latent OR diffusion OR model"),
        ):
            code, out, err = await paperbot(*args, cwd=tmp_path, env=env)
            assert code == 0, (args, err)
            ids += [p["id"] for p in json.loads(out)]
        return ids

    # The demo beside a real database keeps its sample in a file of its own.
    code, out, err = await paperbot("run", cwd=tmp_path, env=default, stdin="/papers today 1\n")
    assert code == 0, err
    assert "(76 papers)" in out and "[sample-01]" in out
    assert (tmp_path / "paperbot-demo.sqlite3").is_file()
    ids = await shown(default)
    assert "2501.03001" in ids and not [i for i in ids if i.startswith("sample-")]

    # Pointed at the real database, the demo refuses in one line and writes nothing.
    real = {**offline, "DATABASE_URL": f"sqlite:///{tmp_path / 'paperbot.sqlite3'}"}
    code, out, err = await paperbot("run", cwd=tmp_path, env=real, stdin="/papers today\n")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"paperbot: the database at sqlite+aiosqlite:///{tmp_path / 'paperbot.sqlite3'} holds "
        "real papers, and the bundled sample never goes beside them; unset DATABASE_URL for "
        "the demo (it uses paperbot-demo.sqlite3), or set PAPERS_SOURCE=huggingface"
    ]
    with sqlite3.connect(tmp_path / "paperbot.sqlite3") as conn:
        samples = conn.execute("SELECT count(*) FROM papers WHERE id LIKE 'sample-%'")
        assert samples.fetchone() == (0,)

    # A database an older demo filled with the sample loses it as soon as real papers come.
    mixed = {**offline, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"}
    code, _, err = await paperbot("run", cwd=tmp_path, env=mixed, stdin="/papers today 1\n")
    assert code == 0, err
    code, _, err = await paperbot("ingest", "--from-file", *files, cwd=tmp_path, env=mixed)
    assert code == 0, err
    ids = await shown(mixed)
    assert "2501.03001" in ids and not [i for i in ids if i.startswith("sample-")]
