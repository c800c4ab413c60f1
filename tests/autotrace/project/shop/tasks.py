from celery import shared_task

from shop import services


@shared_task
def process(n):
    # Slow: the task function itself is auto-traced under the worker's task span.
    return services.slow(n)
