"""The ranking model: TF-IDF over the stored papers, one linear classifier per reader.

The classifier is a class-balanced ridge (least squares) solved in its dual form for the
usual few dozen ratings, liblinear's linear SVM for hundreds (see `fit_reader`).

As arxiv-sanity does: positives are the reader's 👍 and saves, negatives their 👎 plus a
sample of papers they were shown and left unrated. Everything here is synchronous CPU work
for a worker thread, deterministic (fixed seeds, stable orders) and offline.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from bot.papers import Paper

# Fewer ratings than this: too few to fit a classifier on; upvotes rank, ratings nudge.
COLD_START = 5  # bot.recommend.service.COLD_START says the same
# How much the upvote prior weighs against the classifier's margin: a tie-break. On the real
# days (bench/recommend.py) 0.15 cost a third of nDCG@10; relevance is not popularity.
PRIOR = 0.02
# Cold start: how far a paper's likeness to what the reader liked moves it.
NUDGE = 10.0
# Unrated papers shown to the reader, sampled as weak negatives: per rating, and their weight.
UNRATED_PER_RATING = 2
UNRATED_WEIGHT = 0.3
MAX_FEATURES = 50_000
RIDGE = 1.0  # the classifier's regularisation (lambda): larger is smoother
DUAL_MAX_ROWS = 200  # training rows up to which the dual ridge is the faster fit
MAX_UNRATED = 300  # weak negatives at most: the fit's cost grows with the square of its rows
TERMS = 2  # terms an explanation names


def paper_text(p: Paper) -> str:
    """What the vectoriser reads: title, abstract and keywords (keywords twice: they are
    Hugging Face's own summary of the topic, and a phrase like "kv cache" should count)."""
    keywords = " . ".join(p.ai_keywords)
    return f"{p.title} . {p.title} . {p.abstract} . {keywords} . {keywords}"


@dataclass(frozen=True)
class Corpus:
    """The stored papers as L2-normalised TF-IDF rows, and what ranking needs besides."""

    ids: tuple[str, ...]
    index: dict[str, int]
    matrix: sparse.csr_matrix  # one row per paper, unit length
    terms: np.ndarray  # feature names, by column
    prior: np.ndarray  # z-scored log upvotes, by row
    featured: tuple[tuple[str, ...], ...]  # each paper's featured days (ISO), by row
    by_day: dict[str, tuple[int, ...]]  # the rows featured on each day (ISO)

    @property
    def size(self) -> int:
        return len(self.ids)


def build_corpus(papers: Sequence[Paper]) -> Corpus:
    """Fit the vectoriser on these papers (sorted by id, so the fit does not depend on order)."""
    # Here, not at the top: scikit-learn is ~65 MB resident once imported, and the bot
    # builds its corpus in a worker process (bot/recommend/worker.py) so that it never does.
    from sklearn.feature_extraction.text import TfidfVectorizer

    ordered = sorted(papers, key=lambda p: p.id)
    ids = tuple(p.id for p in ordered)
    small = len(ordered) < 50  # a handful of papers: keep every term, however rare or common
    vectorizer = TfidfVectorizer(
        stop_words="english",
        ngram_range=(1, 2),
        min_df=1 if small else 2,
        max_df=1.0 if small else 0.5,
        sublinear_tf=True,
        max_features=MAX_FEATURES,
        dtype=np.float32,
    )
    texts = [paper_text(p) for p in ordered]
    if ordered:
        try:
            matrix = vectorizer.fit_transform(texts).tocsr()
            # TfidfVectorizer leaves each row's columns unsorted; liblinear's input check
            # then sorted the rows of every fit again (a third of a 500-rating fit). Once.
            matrix.sort_indices()
            terms = vectorizer.get_feature_names_out()
        except ValueError:  # only stop words: no vocabulary at all
            matrix, terms = sparse.csr_matrix((len(ordered), 0), dtype=np.float32), np.array([])
    else:
        matrix, terms = sparse.csr_matrix((0, 0), dtype=np.float32), np.array([])
    ups = np.log1p(np.array([max(p.upvotes, 0) for p in ordered], dtype=np.float64))
    prior = (ups - ups.mean()) / (ups.std() or 1.0) if len(ups) else ups
    featured = tuple(tuple(d.isoformat() for d in p.featured_on) for p in ordered)
    by_day: dict[str, list[int]] = {}
    for row, its_days in enumerate(featured):
        for d in its_days:
            by_day.setdefault(d, []).append(row)
    return Corpus(
        ids=ids,
        index={pid: i for i, pid in enumerate(ids)},
        matrix=matrix,
        terms=terms,
        prior=prior,
        featured=featured,
        by_day={d: tuple(rows) for d, rows in by_day.items()},
    )


@dataclass(frozen=True)
class Reader:
    """A fitted reader: their terms' weights (None at cold start) and the rows they liked.

    Kept sparse: only terms of the papers they were fitted on have a weight, a few thousand
    of 50,000, so a cache of 1,000 readers holds megabytes rather than 200 MB.
    """

    terms: tuple[np.ndarray, np.ndarray, int] | None  # (columns, weights, vocabulary size)
    bias: float
    liked: tuple[int, ...]
    disliked: tuple[int, ...]
    rated: frozenset[int]

    @property
    def cold(self) -> bool:
        return self.terms is None

    @property
    def weights(self) -> np.ndarray | None:
        """A weight per term, dense (made on use: microseconds)."""
        if self.terms is None:
            return None
        columns, values, width = self.terms
        dense = np.zeros(width, dtype=np.float32)
        dense[columns] = values
        return dense


def _fitted(w: np.ndarray, bias: float, *rest: Any) -> Reader:
    # int32 columns: half the bytes of flatnonzero's int64, and 50,000 terms fit easily.
    nonzero = np.flatnonzero(w).astype(np.int32)
    return Reader((nonzero, w[nonzero].astype(np.float32), len(w)), bias, *rest)


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def shown_unrated(corpus: Corpus, rated: Sequence[int], name: str) -> list[int]:
    """A sample of papers the reader was shown and did not rate: their rated papers' days.

    The bot shows a day's papers together (a digest, /papers), so a paper of the same day
    left unrated is a weak "not for me". The sample is seeded by the reader's name.
    """
    days = sorted({d for i in rated for d in corpus.featured[i]})
    rated_set = set(rated)
    pool = sorted({i for d in days for i in corpus.by_day.get(d, ()) if i not in rated_set})
    want = min(len(pool), UNRATED_PER_RATING * len(rated), MAX_UNRATED)
    if not want:
        return []
    rng = np.random.default_rng(_seed(name))
    return sorted(int(i) for i in rng.choice(pool, size=want, replace=False))


def fit_reader(
    corpus: Corpus,
    liked: Sequence[str],
    disliked: Sequence[str],
    *,
    name: str = "",
    unrated: Sequence[str] | None = None,
    svm: SvmFit | None = None,
) -> Reader:
    """Fit one reader's classifier on their ratings (or leave them cold with too few).

    `unrated` are papers they were shown and left alone; None: guess them from the days of
    the papers they rated (`shown_unrated`). `svm` fits the many-ratings case (`svm_fit`
    here by default; the bot runs it in a worker process, see bot/recommend/worker.py).
    """
    liked_set = set(liked)  # a set: `in` on the list made 500 ratings quadratic
    pos = tuple(corpus.index[p] for p in liked if p in corpus.index)
    neg = tuple(corpus.index[p] for p in disliked if p in corpus.index and p not in liked_set)
    rated = frozenset(pos) | frozenset(neg)
    if len(rated) < COLD_START or not pos or corpus.matrix.shape[1] == 0:
        return Reader(None, 0.0, pos, neg, rated)
    if unrated is None:
        weak = shown_unrated(corpus, sorted(rated), name)
    else:
        weak = [
            corpus.index[p] for p in unrated if p in corpus.index and corpus.index[p] not in rated
        ]
    rows = [*pos, *neg, *weak]
    y = np.array([1.0] * len(pos) + [-1.0] * (len(neg) + len(weak)))
    if len(set(y)) < 2:  # only likes and nothing shown besides: nothing to tell apart
        return Reader(None, 0.0, pos, neg, rated)
    weight = np.array([1.0] * (len(pos) + len(neg)) + [UNRATED_WEIGHT] * len(weak))
    # Each class weighs the same in total, however few likes there are ("balanced").
    for label in (1.0, -1.0):
        weight[y == label] *= len(y) / (2 * weight[y == label].sum())
    x = corpus.matrix[rows]
    if corpus.matrix.has_sorted_indices:
        # Rows taken from a canonical matrix are canonical: say so, so that sklearn's check
        # does not sort and de-duplicate them again.
        x.has_sorted_indices = True
        x.has_canonical_format = True
    if len(rows) <= DUAL_MAX_ROWS:
        w, bias = _ridge(x, y, weight)
        return _fitted(w, bias, pos, neg, rated)
    # Many ratings: the dual's Gram matrix grows with their square; liblinear's SVM does not.
    # liblinear works in float64: converted here, where the canonical flags carry over.
    w, bias = (svm or svm_fit)(x.astype(np.float64), y, weight)
    return _fitted(w, bias, pos, neg, rated)


# (rows, labels, weights) -> (a weight per term, bias): the many-ratings fit.
SvmFit = Callable[[sparse.csr_matrix, np.ndarray, np.ndarray], tuple[np.ndarray, float]]


def svm_fit(x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, float]:
    """liblinear's linear SVM on these rows (deterministic: a fixed random state)."""
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=1.0, random_state=0, max_iter=2000)
    svm.fit(x, y, sample_weight=weight)
    return svm.coef_.ravel(), float(svm.intercept_[0])


def _ridge(x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, float]:
    """A weighted least-squares linear classifier (ridge), solved in its dual form.

    With a few hundred ratings and 50,000 terms the dual is a small dense system: the Gram
    matrix of the rated papers, solved by LAPACK in well under a millisecond for a typical
    reader, where an iterative SVM solver spends most of its time on set-up (sklearn's
    LinearSVC: ~5 ms for 20 ratings, ~60 ms for 500; bench/RESULTS.md). The bias is a
    regularised constant feature (the +1 in the kernel). Deterministic: no random state.
    """
    gram = np.asarray((x @ x.T).todense(), dtype=np.float64) + 1.0
    gram[np.diag_indices_from(gram)] += RIDGE / weight
    beta = np.linalg.solve(gram, y)
    w = np.asarray(x.T @ beta).ravel().astype(np.float32)
    return w, float(beta.sum())


def scores(corpus: Corpus, reader: Reader, rows: Sequence[int]) -> np.ndarray:
    """The reader's score of each row: the classifier's margin plus the upvote prior, or at
    cold start the prior nudged towards what they liked and away from what they did not."""
    if not rows:
        return np.zeros(0)
    prior = corpus.prior[list(rows)]
    weights = reader.weights
    if weights is not None:
        margin = np.asarray(corpus.matrix[list(rows)] @ weights).ravel()
        return margin + reader.bias + PRIOR * prior
    x = corpus.matrix[list(rows)]
    nudge = np.zeros(len(rows))
    if reader.liked:
        nudge += np.asarray((x @ corpus.matrix[list(reader.liked)].T).mean(axis=1)).ravel()
    if reader.disliked:
        nudge -= np.asarray((x @ corpus.matrix[list(reader.disliked)].T).mean(axis=1)).ravel()
    return prior + NUDGE * nudge


@dataclass(frozen=True)
class Ranked:
    paper_id: str
    score: float
    like: str | None  # the liked paper it is nearest to
    terms: tuple[str, ...]  # the terms that count most for it

    def reason(self) -> str:
        """ "like 2412.17747 you liked; terms: kv cache, latent reasoning"."""
        parts = []
        if self.like:
            parts.append(f"like {self.like} you liked")
        if self.terms:
            parts.append("terms: " + ", ".join(self.terms))
        return "; ".join(parts) or "popular on Hugging Face"


def rank(
    corpus: Corpus,
    reader: Reader,
    candidates: Sequence[str],
    *,
    limit: int | None = None,
    explain: bool = True,
) -> list[Ranked]:
    """Candidates best first (ties by id), each with why; unknown ids are left out.

    explain=False skips the reasons (a digest's order needs none): a tenth of the time.
    """
    # In row order: slicing a CSR matrix by sorted rows is several times faster.
    rows = sorted({corpus.index[p] for p in candidates if p in corpus.index})
    s = scores(corpus, reader, rows)
    # Best first, ties by id: rows are in id order (build_corpus sorts), so by row.
    order = np.lexsort((np.array(rows), -s)).tolist()
    if limit is not None:
        order = order[:limit]
    if not explain:
        return [Ranked(corpus.ids[rows[k]], float(s[k]), None, ()) for k in order]
    return [reason_for(corpus, reader, rows[k], float(s[k])) for k in order]


def reason_for(corpus: Corpus, reader: Reader, row: int, score: float) -> Ranked:
    """Why the reader gets this paper: the nearest liked paper, and the terms that weigh."""
    x = corpus.matrix[row]
    like = None
    if reader.liked:
        sims = np.asarray((corpus.matrix[list(reader.liked)] @ x.T).todense()).ravel()
        best = int(np.argmax(sims))
        if sims[best] > 0.05 and reader.liked[best] != row:
            like = corpus.ids[reader.liked[best]]
    if reader.weights is not None:
        weights = reader.weights
    elif reader.liked:
        weights = np.asarray(corpus.matrix[list(reader.liked)].mean(axis=0)).ravel()
    else:
        weights = None
    terms: tuple[str, ...] = ()
    if weights is not None and x.nnz:
        contrib = x.data * weights[x.indices]
        top = [k for k in np.argsort(-contrib, kind="stable")[:TERMS] if contrib[k] > 0]
        terms = tuple(str(corpus.terms[x.indices[k]]) for k in top)
    return Ranked(corpus.ids[row], score if math.isfinite(score) else 0.0, like, terms)


def similar(corpus: Corpus, paper_id: str, limit: int) -> list[tuple[str, float]]:
    """The stored papers nearest to one by TF-IDF cosine, nearest first (ties by id)."""
    row = corpus.index.get(paper_id)
    if row is None or corpus.matrix.shape[1] == 0:
        return []
    sims = np.asarray((corpus.matrix @ corpus.matrix[row].T).todense()).ravel()
    sims[row] = -1.0
    order = sorted(
        (int(i) for i in np.flatnonzero(sims > 0)), key=lambda i: (-sims[i], corpus.ids[i])
    )
    return [(corpus.ids[i], float(sims[i])) for i in order[:limit]]
