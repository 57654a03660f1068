"""The chaos run's HTTP client: one request per connection, and the wait for /readyz."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from tests.chaos.service import HOST


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request on its own connection; (status, lower-cased headers, JSON body or None)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, payload, sent)
        response = connection.getresponse()
        raw = response.read()
        answer = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return response.status, answer, data


def wait_ready(port: int, seconds: float) -> float:
    """Seconds until /readyz answered 200 (raises after `seconds`)."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            if call(port, "GET", "/readyz")[0] == 200:
                return time.monotonic() - began
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service was not ready within {seconds:.0f} s")
