"""Support sessions, the conversations of a live chat.

Offers `lifecycle` (create, rename, close, the scripts' snapshot), `messages` (a session's
thread), `search` and `filters` (typed filters, search, sort and pages, scoped by access),
`views` (plain data for the CLI and templates), `renaming` (name templates applied to
existing sessions), `assignment` (take, assign, transfer, release), `queues` (the list's views
and their counts), `guards` (closed sessions are read-only, Offline users read only) and
`editing` (a person's parameter edit).
"""
