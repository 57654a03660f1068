"""Durable jobs: work written in the transaction that causes it and run later by workers.

Offers `queue` (enqueue with an optional dedupe key, claim due jobs under a lease that skips
rows another worker holds, a fenced finish, retries with backoff, the admin's list, retry and
cancel) and `worker` (a `Worker` that runs due jobs by kind, once or until stopped, woken by
PostgreSQL's notifications or by polling). What a kind of job does is given to the worker by
whoever assembles it; this package knows no sessions or processes.
"""
