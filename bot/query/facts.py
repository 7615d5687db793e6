"""The paper facts a query can test (has:code, has:model/dataset/space, stars>=N, org:,
author:@user): where each comes from in the paper record, and what a match shows. One
definition for the batch engine, the day search and `why`, so they cannot disagree on what
a fact means."""

from __future__ import annotations

from collections.abc import Sequence

from bot.papers import Paper
from bot.query.ast import HAS_WHAT, Claimed, Fact, Has, Org, Stars


def org_keys(paper: Paper) -> frozenset[str]:
    """The names `org:` finds the paper's organisation by: its handle and its full name."""
    names = (paper.organization_handle, paper.organization)
    return frozenset(" ".join(n.split()).casefold() for n in names if n)


def claimed_users(paper: Paper) -> dict[str, str]:
    """Casefolded username -> author name, for the authors who claimed the paper (verified)."""
    return {user.casefold(): name for name, user in paper.claimed}


def artifact_count(paper: Paper, what: str) -> int:
    """How many Hugging Face repos of kind `what` ("model", "dataset", "space") cite the paper;
    0 when none do or they were never looked up."""
    return paper.artifacts.count(what + "s") if paper.artifacts is not None else 0


def fact_hit(leaf: Fact, paper: Paper) -> tuple[str, str] | None:
    """(field, what matched) when `leaf` holds for `paper`, else None."""
    if isinstance(leaf, Stars):
        stars = paper.github_stars
        return ("stars", f"{stars:,}") if leaf.test(stars) else None
    if isinstance(leaf, Has):
        if leaf.what == "code":
            return ("code", paper.github_repo) if paper.github_repo else None
        n = artifact_count(paper, leaf.what)
        return (leaf.what, f"{n:,} {leaf.what}{'' if n == 1 else 's'}") if n else None
    if isinstance(leaf, Org):
        if leaf.name in org_keys(paper):
            return "org", paper.organization or paper.organization_handle or leaf.name
        return None
    assert isinstance(leaf, Claimed)
    name = claimed_users(paper).get(leaf.user)
    return ("author", f"{name} (@{leaf.user})") if name is not None else None


class FactIndex:
    """The paper facts of one batch, as bitsets (bit p: paper p), built in one pass.

    Following a lab or a person is common, so a batch meets hundreds of distinct org: and
    author:@ leaves: each is one dict look-up here instead of a pass over the batch.
    """

    __slots__ = ("has", "orgs", "stars", "users")

    def __init__(self, papers: Sequence[Paper]) -> None:
        # has:<what> -> the papers that have it (the field a reason names is `what` itself).
        self.has = dict.fromkeys(HAS_WHAT, 0)
        self.stars: list[tuple[int, int]] = []  # (paper, stars) of papers with a star count
        self.orgs: dict[str, int] = {}
        self.users: dict[str, int] = {}
        for p, paper in enumerate(papers):
            bit = 1 << p
            if paper.github_repo:
                self.has["code"] |= bit
            if (a := paper.artifacts) is not None:
                if a.models:
                    self.has["model"] |= bit
                if a.datasets:
                    self.has["dataset"] |= bit
                if a.spaces:
                    self.has["space"] |= bit
            if paper.github_stars is not None:
                self.stars.append((p, paper.github_stars))
            for key in org_keys(paper):
                self.orgs[key] = self.orgs.get(key, 0) | bit
            for user in claimed_users(paper):
                self.users[user] = self.users.get(user, 0) | bit

    def bits(self, leaf: Fact) -> dict[str, int]:
        """The papers `leaf` holds for, by the field a reason names (as `fact_hit`)."""
        if isinstance(leaf, Stars):
            v = 0
            for p, stars in self.stars:
                if leaf.test(stars):
                    v |= 1 << p
            found = {"stars": v}
        elif isinstance(leaf, Has):
            found = {leaf.what: self.has[leaf.what]}
        elif isinstance(leaf, Org):
            found = {"org": self.orgs.get(leaf.name, 0)}
        else:
            found = {"author": self.users.get(leaf.user, 0)}
        return {k: v for k, v in found.items() if v}
