"""A stored paper row as a `Paper`: one conversion for every way of reading the row.

Without SQLAlchemy: the repository gives it ORM rows (`PaperRow`), and the quick SQLite
read of `paperbot lookup <id>` (bot.storage.sqlite_read) rows of the standard library's
sqlite3, decoded to the same Python values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from bot.papers import ARTIFACT_KINDS, ArtifactRef, Artifacts, Paper

# The bundled sample's ids, sample-01 to sample-76 (never arXiv ids), as a LIKE pattern.
SAMPLE_IDS = "sample-%"


class PaperColumns(Protocol):
    """The columns of the papers table, as Python values (JSON decoded, datetimes UTC)."""

    id: str
    title: str
    abstract: str
    authors: list[Any]
    published_at: datetime | None
    upvotes: int
    comments: int
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    ai_summary: str | None
    ai_keywords: list[Any]
    organization: str | None
    organization_handle: str | None
    thumbnail: str | None
    first_seen_at: datetime
    updated_at: datetime
    artifacts: dict[str, Any] | None


def paper_from_columns(row: PaperColumns, featured_on: Sequence[date]) -> Paper:
    """The paper a row stores; `featured_on` are its days from paper_features, oldest first."""
    return Paper(
        id=row.id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(a["name"] for a in row.authors or () if not a.get("hidden")),
        claimed=tuple(
            (a["name"], a["user"])
            for a in row.authors or ()
            if a.get("user") and not a.get("hidden")
        ),
        organization_handle=row.organization_handle,
        published_at=row.published_at,
        featured_on=tuple(featured_on),
        upvotes=row.upvotes,
        comments=row.comments,
        github_repo=row.github_repo,
        github_stars=row.github_stars,
        project_page=row.project_page,
        ai_summary=row.ai_summary,
        ai_keywords=tuple(row.ai_keywords or ()),
        organization=row.organization,
        thumbnail=row.thumbnail,
        artifacts=artifacts_from_json(row.artifacts),
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
    )


def artifacts_from_json(value: Any) -> Artifacts | None:
    """Read the stored form back; None (never looked up) for NULL or a shape we do not know."""
    if not isinstance(value, dict):
        return None
    counts = [value.get(k) for k in ARTIFACT_KINDS]
    numbers = [n for n in counts if isinstance(n, int) and n >= 0]
    if len(numbers) != len(counts):
        return None
    models, datasets, spaces = numbers
    top = tuple(
        ArtifactRef(kind, repo)
        for kind, repo in (t for t in value.get("top") or () if isinstance(t, list) and len(t) == 2)
        if kind in ARTIFACT_KINDS and isinstance(repo, str)
    )
    return Artifacts(models, datasets, spaces, top=top)
