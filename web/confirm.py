"""Confirmation of destructive actions: the first POST shows what will happen; the second acts.

A destructive form posts as usual. Without `confirm=yes` the view answers with a page that
names the consequence (and what it applies to) and posts the same fields again with
`confirm=yes`, or goes back. No JavaScript is needed, and a one-click form cannot act by itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import render_template, request
from flask.typing import ResponseReturnValue

_NOT_REPOSTED = frozenset({"csrf_token", "confirm"})


def confirmation(
    title: str,
    consequence: str,
    confirm_label: str,
    back_url: str,
    *,
    items: Sequence[str] = (),
    back_label: str = "Keep it, go back",
) -> ResponseReturnValue | None:
    """None when this POST is confirmed; otherwise the page that asks to confirm it, listing
    `items` (what the action applies to)."""
    if request.form.get("confirm") == "yes":
        return None
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in _NOT_REPOSTED]
    return render_template(
        "confirm.html",
        title=title,
        consequence=consequence,
        confirm_label=confirm_label,
        back_url=back_url,
        back_label=back_label,
        items=items,
        action=request.path,
        fields=fields,
    )
