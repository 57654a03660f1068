"""Support sessions, the conversations of a live chat.

Offers `lifecycle` (create, rename, close, the scripts' snapshot), `messages` (a session's
thread), `search` and `filters` (typed filters, search, sort and pages, scoped by access),
`views` (plain data for the CLI and templates) and `renaming` (name templates applied to
existing sessions).
"""
