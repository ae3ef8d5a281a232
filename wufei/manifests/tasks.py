"""The manifests' background jobs (wufei.core.jobs): webhook deliveries, sent by the queue, never by a thread in
the web server."""

from wufei.core.jobs import job, periodic
from wufei.manifests import webhooks


@job("webhooks.send", retries=0)
def send_deliveries(ids: list[int]) -> dict:
    """Try these deliveries once, right after the change that queued them committed (their own backoff retries)."""
    return webhooks.deliver_due(ids=ids, limit=len(ids))


@periodic("webhooks.deliver")
def deliver() -> dict:
    """Send whatever is due: retries after their backoff, deliveries whose first attempt was lost."""
    return webhooks.deliver_due(limit=500)
