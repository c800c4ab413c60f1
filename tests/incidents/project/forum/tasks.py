import logging

from celery import shared_task

logger = logging.getLogger(__name__)


def fetch_profile(user_id: int) -> dict[str, int]:
    raise ConnectionError(f"profile service down for user {user_id}")


@shared_task
def sync_profile(user_id: int) -> int:
    """Logs the failure and succeeds: an error recorded, not a failed task."""
    try:
        fetch_profile(user_id)
    except ConnectionError:
        logger.exception("profile sync failed for user %s", user_id)
    return user_id
