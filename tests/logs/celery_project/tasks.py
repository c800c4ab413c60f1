from celery import shared_task
from celery.utils.log import get_task_logger

logger = get_task_logger(__name__)


@shared_task  # type: ignore[untyped-decorator]
def report(order_id: int) -> int:
    logger.info("reporting order %s", order_id)
    try:
        raise LookupError(f"order {order_id} has no invoice")
    except LookupError:
        logger.exception("no invoice, reporting without it")
    return order_id
