"""Built-in apps (Clients, Requests...) and how sessions meet them.

Offers `items` (apps, their typed fields and items), `links` (a live chat's bound app, items
made from sessions, session-item links) and `reading` (read access to sessions from app items).
"""
