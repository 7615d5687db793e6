"""Find a paper by (part of) its title, as `/paper <title words>` and `paperbot lookup` need.

Design, in two stages:

1. Candidates (cheap). Titles and queries are folded (`text.fold_title`: lower case, accents and
   apostrophes dropped, every run of punctuation one space). Each title is indexed under its
   words plus the joined form of each compound ("DeepSeek-V3" -> "deepseek", "v3",
   "deepseekv3"). A query word that is not an indexed word is typo-corrected (`vocab`): up
   to 3 indexed words one edit away, found through one-letter-deletion variants in a few
   dict look-ups, else, for words of 7+ letters, two edits away by a rapidfuzz scan of the
   words of near length (ratio >= 75–80 either way). Postings are walked rarest word first,
   each adding its IDF (times the squared similarity for corrected words) to the titles
   holding it; once POSTING_BUDGET postings are walked, the commoner words only re-rank the
   400 best titles found so far. Stop words do not take part. The CANDIDATES best titles
   (ties: length closest to the query's), plus any title whose name equals the whole query
   ("FAST", "Atlas": names that are also common words), go on.
2. Rescoring (exact). `scoring.score` takes the best of: ratio against the whole title
   (typos), token_sort_ratio (word order), ratio against the part before ":" (a name such as
   "SelfPose3d") and after it (the subtitle), ratio against a name-like first word of a
   title without a colon ("DeepSeek-V3 Technical Report"), and token_set_ratio scaled into
   85–100 by how much of the title the query covers (dropped words), a prefix match of the
   title or subtitle scaled into 90–100 (first words only), and the title matched against
   the start of a longer query (a pasted title followed by more text).

Decisions: `search` returns hits scoring >= MIN_SCORE (fewer, or none, for a query like
"nonsense query xyz"); `best_match` / `lookup(...).best` name one title only when it
scores >= CONFIDENT_SCORE and beats the runner-up by CONFIDENT_MARGIN, otherwise the
caller shows the short list. Queries are cut to MAX_QUERY_CHARS; a query of only stop
words or punctuation has no hits.

The index is in memory and incremental (`add`, `remove`; the core refreshes it after each
ingest). A fresh build is stored (`snapshot`, table `title_index`) for exactly the titles it
was built from, so the next process (a one-shot `paperbot lookup`) reads the folded titles
back instead of folding them all again; `paperbot ingest` stores one for the new titles.
Searches share a readers-writer lock, so they run concurrently from threads while
an update waits for them and then runs alone. Pure Python plus rapidfuzz; search is
CPU-bound, so async callers should run it in a thread (`asyncio.to_thread`).
"""

from bot.lookup.index import (
    CONFIDENT_MARGIN,
    CONFIDENT_SCORE,
    MIN_SCORE,
    Hit,
    LookupResult,
    TitleIndex,
)
from bot.lookup.text import MAX_QUERY_CHARS, fold_title

__all__ = [
    "CONFIDENT_MARGIN",
    "CONFIDENT_SCORE",
    "MAX_QUERY_CHARS",
    "MIN_SCORE",
    "Hit",
    "LookupResult",
    "TitleIndex",
    "fold_title",
]
