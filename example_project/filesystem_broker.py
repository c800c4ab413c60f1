"""Celery's ``filesystem://`` broker with messages written atomically.

kombu's filesystem transport creates a message file and then writes it; a worker polling
the folder can take the file in between, read it empty and stop ("Unrecoverable error:
JSONDecodeError", kombu issue #1551), which busy machines hit. Here a message is written
under a name consumers ignore, then renamed into place (atomic within a folder).

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "filesystem_broker:Transport"
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # Consumers take "<name>.<queue>.msg" files only: the ".part" file is invisible.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
