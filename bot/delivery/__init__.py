"""Delivery: daily digests and DM alerts, composed into an outbox and sent exactly once.

- `timing`: local digest times (IANA zones, DST) and when a digest is due.
- `digest`: matching a window of papers against subscriptions, ranking, capping, payloads.
- `alerts`: instant DM alerts and the catch-up after a mute.
- `sweep`: what is due now, claimed and recorded (run, ledger, outbox) in one transaction.
- `sender`: draining the outbox through the adapters, with retries and rate limits.
- `prefetch`: items claimed ahead in batches (rendered and frozen at once) for the workers.
- `outcomes`: what a failed post leads to (backoff, giving up, disabling, halting).
- `pacing`: spacing posts under a platform's documented rate; holds after a 429.
- `claims`: process identity and the one-ingester lock (PostgreSQL advisory locks: a lock
  primitive over the engine, not a repository).

The outbox's claiming, marking and retrying are SQL: `bot/storage/outbox_repo.py`.
- `status`: what `status` shows.
"""
