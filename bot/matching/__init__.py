"""Papers against subscription queries: the batch engine, its per-batch index, explanations.

`engine` matches a batch of papers against every subscription at once (digests, alerts,
search); `index` is the batch's inverted index and typo table it reads; `explain` says,
term by term, why one paper did or did not match one query (the `why` command).
"""
