"""A webhook delivery: the event's JSON POSTed to the subscriber, signed, outside any transaction.

The body is the same bytes on every try (it was written when the event was fanned out). The
headers carry the event, the delivery id (the job's id, the same on every try, for receivers to
drop repeats), a timestamp and `X-BpmLivechat-Signature: v1=<hex HMAC-SHA256 of
"timestamp.body" with the webhook's secret>`. The target is checked again before each try and
the connection goes to the address that passed the check. Anything but a 2xx answer, a
timeout or a refused connection fails the try; the worker retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import Clock
from bpm_livechat.desk.webhooks import Target, allow_list, check_target
from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.jobs.queue import ClaimedJob
from bpm_livechat.models import WebhookSubscription

SIGNATURE_HEADER = "X-BpmLivechat-Signature"
TIMESTAMP_HEADER = "X-BpmLivechat-Timestamp"
EVENT_HEADER = "X-BpmLivechat-Event"
DELIVERY_HEADER = "X-BpmLivechat-Delivery"
MAX_ANSWER_BYTES = 64 * 1024


class WebhookFailed(BpmLivechatError):
    """A try to deliver a webhook failed (its answer, a timeout, a refused connection)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def body_bytes(body: object) -> bytes:
    """The exact bytes POSTed (compact, keys sorted: the same on every try)."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, with the certificate checked for the host's name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to the checked target and return the status code."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, timeout)
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    try:
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        connection.request("POST", target.path, body=body, headers={**headers, "Host": host})
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        return answer.status
    finally:
        connection.close()


@dataclass
class WebhookSender:
    """Sends webhook jobs: reads the subscription, checks the target, POSTs, judges the answer."""

    factory: sessionmaker[Session]
    clock: Clock
    timeout: float = 5.0
    allowed: list[str] | None = None

    def send(self, job: ClaimedJob) -> None:
        """One try of one delivery; WebhookFailed when it did not arrive."""
        with self.factory() as db:  # a short read, ended before the request goes out
            webhook = db.get(WebhookSubscription, job.payload["webhook_id"])
            if webhook is None or not webhook.active:
                return  # removed or paused since: nothing to deliver
            url, secret = webhook.url, webhook.secret
        target = check_target(url, allow_list() if self.allowed is None else self.allowed)
        body = body_bytes(job.payload["body"])
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "bpm-livechat-webhooks",
            EVENT_HEADER: str(job.payload["event"]),
            DELIVERY_HEADER: str(job.id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
        try:
            status = post(target, body, headers, self.timeout)
        except (OSError, http.client.HTTPException) as exc:
            raise WebhookFailed(f"{url}: {type(exc).__name__}: {exc}") from None
        if not 200 <= status < 300:
            raise WebhookFailed(f"{url} answered {status}")
