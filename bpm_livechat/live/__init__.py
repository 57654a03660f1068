"""Live updates: the feed of changes open pages follow, and the per-process hub that tails it.

Offers `feed` (`publish` a change in the writer's transaction; read the feed after a cursor;
prune it by age) and `hub` (`LiveHub`: one listener thread per web process that tails the feed,
woken by PostgreSQL's LISTEN or polling on SQLite, and fans new rows out to that process's open
streams). The database's feed is the source of truth: several web processes on several machines
see the same rows, and a page that lost its connection resumes from its last event id.
"""
