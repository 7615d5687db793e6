"""The neutral paper record every part of paperbot passes around."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

HF_PAPERS_URL = "https://huggingface.co/papers"
ARXIV_ID_RE = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})$")
_VERSION_RE = re.compile(r"v\d+$")
_WRAPPING = "()[]{}\"'“”‘’«».,;:!? "


def normalize_arxiv_id(text: str) -> str | None:
    """Return the bare arXiv id in `text` (an id, `arXiv:` id or arxiv/HF URL), else None."""
    s = text.strip()
    # Slack sends a pasted link as <url> or <url|label>; a link copied from a sentence
    # brings brackets, quotes or a full stop along.
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1].split("|", 1)[0]
    s = s.strip(_WRAPPING).rstrip("/")
    s = re.sub(
        r"^(?:https?://)?(?:www\.)?(?:export\.)?arxiv\.org/(?:abs|pdf|html)/", "", s, flags=re.I
    )
    s = re.sub(r"^(?:https?://)?(?:www\.)?huggingface\.co/papers/", "", s, flags=re.I)
    s = re.sub(r"^arxiv:", "", s, flags=re.IGNORECASE)
    s = s.split("?", 1)[0].split("#", 1)[0]
    s = s.removesuffix(".pdf")
    s = _VERSION_RE.sub("", s)
    return s if ARXIV_ID_RE.match(s) else None


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace (arXiv titles carry hard line breaks)."""
    return " ".join(text.split())


# The kinds of Hugging Face repository that can cite a paper, as the API names its lists.
ARTIFACT_KINDS = ("models", "datasets", "spaces")
_ARTIFACT_PATHS = {"models": "", "datasets": "datasets/", "spaces": "spaces/"}


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """One model, dataset or Space that cites a paper: its kind and repo id ("owner/name")."""

    kind: str  # one of ARTIFACT_KINDS
    repo_id: str

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{_ARTIFACT_PATHS[self.kind]}{self.repo_id}"


@dataclass(frozen=True, slots=True)
class Artifacts:
    """What cites a paper on Hugging Face (`GET /api/arxiv/{id}/repos`): counts and the top few.

    The counts are the totals; `top` holds at most a few of each kind, most liked first.
    """

    models: int = 0
    datasets: int = 0
    spaces: int = 0
    top: tuple[ArtifactRef, ...] = ()

    def count(self, kind: str) -> int:
        return {"models": self.models, "datasets": self.datasets, "spaces": self.spaces}[kind]

    @property
    def any(self) -> bool:
        return bool(self.models or self.datasets or self.spaces)

    def summary(self) -> str:
        """ "3 models, 1 dataset, 2 Spaces" (kinds with none left out); "" when none."""
        words = (("model", "models"), ("dataset", "datasets"), ("Space", "Spaces"))
        parts = [
            f"{n:,} {one if n == 1 else many}"
            for n, (one, many) in zip((self.models, self.datasets, self.spaces), words, strict=True)
            if n
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class Paper:
    """A paper as the core sees it, whatever source it came from.

    `id` is the bare arXiv id for real papers. Papers of the bundled offline sample have no
    arXiv id (the source page does not give one, and we invent none); their id is
    `sample-NN` and `arxiv_id` is None.
    """

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()  # visible authors, in arXiv order (hidden ones dropped)
    published_at: datetime | None = None  # on arXiv since
    featured_on: tuple[date, ...] = ()  # days it was on Daily Papers, oldest first
    upvotes: int = 0
    comments: int = 0
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    organization: str | None = None  # the claiming organisation's full name ("ByteDance Seed")
    organization_handle: str | None = None  # and its handle on Hugging Face ("ByteDance-Seed")
    # (author name, Hugging Face username) of each author who claimed the paper and was
    # verified by Hugging Face, in author order: what author:@username follows.
    claimed: tuple[tuple[str, str], ...] = ()
    thumbnail: str | None = None
    # The models, datasets and Spaces citing the paper, once fetched (None: not looked up).
    artifacts: Artifacts | None = None
    first_seen_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    @property
    def arxiv_id(self) -> str | None:
        return self.id if ARXIV_ID_RE.match(self.id) else None

    @property
    def hf_url(self) -> str | None:
        return f"{HF_PAPERS_URL}/{self.id}" if self.arxiv_id else None

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.id}" if self.arxiv_id else None

    @property
    def url(self) -> str | None:
        """The link a reader should follow first (the HF page)."""
        return self.hf_url

    @property
    def github_url(self) -> str | None:
        if not self.github_repo:
            return None
        if self.github_repo.startswith("http"):
            return self.github_repo
        return f"https://github.com/{self.github_repo}"

    def authors_short(self, n: int = 3) -> str:
        """First `n` authors, then "et al."."""
        if not self.authors:
            return ""
        head = ", ".join(self.authors[:n])
        return head + (" et al." if len(self.authors) > n else "")

    def to_json(self) -> dict[str, object]:
        """The stable JSON shape of `--json` outputs."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "upvotes": self.upvotes,
            "comments": self.comments,
            "url": self.url,
            "arxiv_url": self.arxiv_url,
            "pdf_url": self.pdf_url,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "featured_on": [d.isoformat() for d in self.featured_on],
            "github_repo": self.github_url,
            "github_stars": self.github_stars,
            "project_page": self.project_page,
            "ai_summary": self.ai_summary,
            "ai_keywords": list(self.ai_keywords),
            "organization": self.organization,
            "thumbnail": self.thumbnail,
            "artifacts": _artifacts_json(self.artifacts),
            "abstract": self.abstract,
        }


def _artifacts_json(a: Artifacts | None) -> dict[str, object] | None:
    if a is None:
        return None
    return {
        "models": a.models,
        "datasets": a.datasets,
        "spaces": a.spaces,
        "top": [{"kind": r.kind, "id": r.repo_id, "url": r.url} for r in a.top],
    }
