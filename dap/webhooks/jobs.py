"""The webhook delivery scan, registered in dap.jobs.registry."""

from __future__ import annotations

from flask import Flask


def deliver_webhooks(app: Flask) -> str:
    """Send due webhook deliveries (signed POSTs, retried with backoff) and forget finished
    ones past their retention (dap.webhooks.delivery)."""
    from dap.webhooks.delivery import deliver_due, prune_deliveries

    config = app.config
    report = deliver_due(timeout=config["WEBHOOKS_TIMEOUT_SECONDS"],
                         allow_http=config["WEBHOOKS_ALLOW_HTTP"],
                         seconds=config["WEBHOOKS_RUN_SECONDS"])
    pruned = prune_deliveries()
    return report.summary() + (f"; removed {pruned} old deliveries" if pruned else "")
