"""The attribute keys of Celery spans: OTel messaging semconv (1.27+) and
opentelemetry-instrumentation-celery's, so existing queries keep working."""

from __future__ import annotations

MESSAGING_SYSTEM = "messaging.system"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_DESTINATION_NAME = "messaging.destination.name"
MESSAGING_MESSAGE_ID = "messaging.message.id"
CELERY_ACTION = "celery.action"
CELERY_TASK_NAME = "celery.task_name"
CELERY_STATE = "celery.state"
CELERY_RETRIES = "celery.retries"
CELERY_HOSTNAME = "celery.hostname"
CELERY_ETA = "celery.eta"
CELERY_RETRY_REASON = "celery.retry.reason"
CELERY_RETRY_EXCEPTION_TYPE = "celery.retry.exception.type"  # the exception that caused it
CELERY_REVOKED_REASON = "celery.revoked.reason"
CELERY_TERMINATED_SIGNAL = "celery.terminated.signal"
CELERY_EXCEPTION_TYPE = "celery.exception.type"  # an exception listed in task.throws
CELERY_TIME_LIMIT = "celery.time_limit"
CELERY_ARGS = "celery.args"
CELERY_KWARGS = "celery.kwargs"

SYSTEM = "celery"
