"""The built-in server's request handler: it names no server software or Python version in
the `Server` header (a version banner only helps an attacker pick exploits)."""

from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler

SERVER_NAME = "bpm-livechat"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, answering `Server: bpm-livechat` instead of Werkzeug and Python
    versions."""

    def version_string(self) -> str:
        """The `Server` header's value."""
        return SERVER_NAME
