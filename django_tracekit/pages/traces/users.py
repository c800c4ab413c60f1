"""Who a kept trace's ``user_id`` (``enduser.id``: the user's primary key) is, for the trace
pages: a team reads "alice", not "5" (pontoon trial). Names are looked up in one query per
page, only for viewers who may view the user model in the admin; otherwise, and whenever the
lookup fails (another user model, a database outage), the id is shown as before."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest

logger = logging.getLogger("django_tracekit")


def usernames(request: HttpRequest, user_ids: Iterable[str]) -> dict[str, str]:
    """``{user id: username}`` for the ids that name a user the viewer may see."""
    wanted = {i for i in user_ids if i}
    if not wanted:
        return {}
    try:
        model = get_user_model()
        meta = model._meta
        if not request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
            return {}
        keys = []
        for value in wanted:
            try:
                keys.append(meta.pk.to_python(value))
            except (ValidationError, TypeError, ValueError):
                continue  # not a primary key of this model (a tampered or foreign id)
        found = model._default_manager.filter(pk__in=keys)
        return {str(user.pk): str(user.get_username()) for user in found}
    except Exception:
        logger.debug("tracekit: could not look up the users of kept traces", exc_info=True)
        return {}
