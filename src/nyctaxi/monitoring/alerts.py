"""Where alerts go: a pluggable notifier; the built-in one POSTs JSON to a webhook URL."""

from __future__ import annotations

import logging
from typing import Protocol

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

log = logging.getLogger("nyctaxi.alerts")


class Notifier(Protocol):
    def send(self, alert: dict) -> None: ...


class LogNotifier:
    """No webhook configured: the alert is in the job's log (and its failure) only."""

    def send(self, alert: dict) -> None:
        log.warning("ALERT %s", alert.get("message"))


class WebhookNotifier:
    """POST the alert as JSON (Slack/Teams/Alertmanager-style receivers accept it), with retries."""

    def __init__(self, url: str, timeout_s: float = 10.0, attempts: int = 3) -> None:
        self.url, self.timeout_s, self.attempts = url, timeout_s, attempts

    def send(self, alert: dict) -> None:
        @retry(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(initial=0.2, max=5.0),
            retry=retry_if_exception_type(requests.RequestException),
            reraise=True,
        )
        def post() -> None:
            response = requests.post(self.url, json=alert, timeout=self.timeout_s)
            response.raise_for_status()

        post()


def notifier_for(webhook_url: str | None) -> Notifier:
    return WebhookNotifier(webhook_url) if webhook_url else LogNotifier()
