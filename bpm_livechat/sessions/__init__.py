"""Support sessions, the conversations of a live chat.

Offers `lifecycle` (create, rename, close, the scripts' snapshot), `messages` (a session's
thread), `search` and `filters` (typed filters, search, sort and pages, scoped by access),
`views` (plain data for the CLI and templates), `renaming` (name templates applied to
existing sessions), `replies` (operator replies and who posts which side), `quick_replies`
(response templates rendered for a session) and `stale` (edits made from an outdated page).
"""
