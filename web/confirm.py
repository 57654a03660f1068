"""Confirmation of destructive actions: the first POST shows what will happen; the second acts.

A destructive form posts as usual. Without `confirmed=yes` the view answers with a page that
names the consequence and posts the same fields again with `confirmed=yes`, or goes back. No
JavaScript is needed, and a stale or forged one-click form cannot act by itself.
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

_NOT_REPOSTED = frozenset({"csrf_token", "confirmed"})


def confirmation(
    title: str, consequence: str, confirm_label: str, back_url: str
) -> ResponseReturnValue | None:
    """None when this POST is confirmed; otherwise the page that asks to confirm it."""
    if request.form.get("confirmed") == "yes":
        return None
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in _NOT_REPOSTED]
    return render_template(
        "confirm.html",
        title=title,
        consequence=consequence,
        confirm_label=confirm_label,
        back_url=back_url,
        action=request.path,
        fields=fields,
    )
