"""What commands, the CLI and delivery share: the work behind a command, without its replies.

`ingest` stores papers from a source or saved files; `lookup` resolves a paper reference;
`papers` reads a day and its papers; `queries` turns subscription text into a `Query`
(typed or stored); `search` matches stored papers against a query; `subscriptions` reads a
scope's subscriptions and what they matched lately; `destinations` readies the destination
a setting applies to. Services return data and at most plain sentences, never a `Reply`:
replies are the commands' job.
"""
