"""Where data lives and how a unit of work runs.

Offers `engines` (make an engine for SQLite or PostgreSQL, run the Alembic migrations),
`transactions` (a session factory, the caller's `unit_of_work`, `commit` that turns a lost race
into a ConflictError, SQLite's `reading` and `one_writer`) and `tx_cache` (values read once per
transaction). Nothing here knows sessions, parameters or processes.
"""
