"""Routing sessions to operators by their parameters.

Offers `teams` (operator groups with capacities), `conditions` (what a rule tests: system and
custom parameters, validated on save, evaluated with the reason they failed), `rules` (ordered
rules per live chat and global), `strategies` (round robin and least busy over Online operators
under capacity, under row locks), `decision` (route one session: match, choose, assign, record),
`explanation` (the history sentence and the tester) and `triggers` (the one call each code path
makes: a new session, a first message, a parameter change, an operator Online or freed, Route
again).
"""
