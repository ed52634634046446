"""Where alerts go: JSON webhooks (the event as the status API shows it) and Slack-compatible ones
({"text": ...}). A receiver that fails is logged and the alert kept in the database and on the
status page; the watch goes on."""

from __future__ import annotations

import logging

import httpx

from maildoctor.monitor.alerts import Event

log = logging.getLogger("maildoctor.monitor")
TIMEOUT = 10.0


async def notify(events: list[Event], webhooks: tuple[str, ...], slack: tuple[str, ...]) -> int:
    """Send every event to every receiver; the number of deliveries that failed."""
    failed = 0
    if not events:
        return 0
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        for event in events:
            for url, body in [(u, event.to_json()) for u in webhooks] + [(u, {"text": event.words()}) for u in slack]:
                try:
                    response = await client.post(url, json=body)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    failed += 1
                    log.warning("alert to %s failed: %s", url, exc)
    return failed
