"""Support sessions, the conversations of a live chat.

Offers `lifecycle` (create, rename, close, the scripts' snapshot), `messages` (a session's
thread), `search` and `filters` (typed filters, search, sort and pages, scoped by access),
`views` (plain data for the CLI and templates), `renaming` (name templates applied to
existing sessions), `assignment` (take, assign, transfer, release), `queues` (the list's views
and their counts), `guards` (closed sessions are read-only, Offline users read only),
`editing` (a person's parameter edit), `replies` (operator replies and who posts which
side), `quick_replies` (response templates rendered for a session) and `stale` (edits
made from an outdated page).
"""
