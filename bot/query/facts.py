"""The paper facts a query can test (has:code, stars>=N, org:, author:@user): where each
comes from in the paper record, and what a match shows. One definition for the batch engine,
the day search and `why`, so they cannot disagree on what a fact means."""

from __future__ import annotations

from bot.papers import Paper
from bot.query.ast import Claimed, Fact, Has, Org, Stars


def org_keys(paper: Paper) -> frozenset[str]:
    """The names `org:` finds the paper's organisation by: its handle and its full name."""
    names = (paper.organization_handle, paper.organization)
    return frozenset(" ".join(n.split()).casefold() for n in names if n)


def claimed_users(paper: Paper) -> dict[str, str]:
    """Casefolded username -> author name, for the authors who claimed the paper (verified)."""
    return {user.casefold(): name for name, user in paper.claimed}


def fact_hit(leaf: Fact, paper: Paper) -> tuple[str, str] | None:
    """(field, what matched) when `leaf` holds for `paper`, else None."""
    if isinstance(leaf, Stars):
        stars = paper.github_stars
        return ("stars", f"{stars:,}") if leaf.test(stars) else None
    if isinstance(leaf, Has):  # only "code" so far (HAS_WHAT)
        return ("code", paper.github_repo) if paper.github_repo else None
    if isinstance(leaf, Org):
        if leaf.name in org_keys(paper):
            return "org", paper.organization or paper.organization_handle or leaf.name
        return None
    assert isinstance(leaf, Claimed)
    name = claimed_users(paper).get(leaf.user)
    return ("author", f"{name} (@{leaf.user})") if name is not None else None
