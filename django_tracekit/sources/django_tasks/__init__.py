"""Django's own tasks framework (``django.tasks``, Django 6.0+) traced like Celery: enqueue
is a PRODUCER span, the run a CONSUMER span named after the task function, in the
sender's trace (:mod:`~django_tracekit.sources.django_tasks.tracing`)."""
