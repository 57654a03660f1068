"""The support desk: who works where, and what they may see.

Offers `users` (accounts, roles, passwords), `access` (who may see and work which live chats and
sessions), `livechats` (live chats, channels, members, name templates), `naming` (session name
templates: parse, check, render safely), `administration` (roles and memberships for admins),
`tokens` (personal API tokens), `idempotency` (a retried request answered once),
`preferences` (each user's list columns and view) and `presence` (Online, Away, Offline).
"""
