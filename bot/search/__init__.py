"""Search over many stored days: a token index per featured day, built once and reused.

`day_index` tokenises one day's papers (the matching engine's tokenisation, from
`bot.query.text`) into posting lists; `evaluate` runs a query over the day indexes of a
window with the engine's semantics (phrases, run-together words, typos, authors, upvotes,
reasons); `cache` keeps the day indexes in the process and checks each day's version in the
database before trusting it, so papers another process stored are seen.
"""

from bot.search.cache import SearchIndex, Window

__all__ = ["SearchIndex", "Window"]
