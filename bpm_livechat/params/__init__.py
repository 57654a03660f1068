"""Custom parameters: what a session's admin-defined fields are, and the one way to write them.

Offers `types` and `parsing` (the parameter types, parsing raw input, normalising, JSON),
`definitions` (the definitions as read-only records, read once per transaction), `catalogue`
(system parameters, adding, changing, archiving custom ones), `values` (a session's values: one
validated, all-or-nothing write path with history), `actors` (who made a change) and `choices`
(parsing a value of a fixed set with a clear error). It knows no live chats and no processes.
"""
