"""``manage.py <command>`` (and ``django-admin``) as a span: the root of the command's trace,
named by the convention after the command's ``handle`` (``shop/orders/management/commands/
refresh/Command/handle``), counted in the feature-usage stats as kind ``command``.

- :mod:`~django_tracekit.sources.commands.tracing`: which commands are traced, the span's name and
  attributes, the outcome (exit code, errors);
- :mod:`~django_tracekit.sources.commands.patch`: the seam, ``BaseCommand.execute`` wrapped once
  at setup (Django has no command signal), guarded and reversible;
- :mod:`~django_tracekit.sources.commands.integration`: the integration the registry names.
"""
