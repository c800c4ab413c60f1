"""Celery's ``filesystem://`` broker (and ``file://`` result backend) written atomically.

kombu's filesystem transport creates a message file and then writes it; a worker polling
the folder can take the file in between, read it empty and stop ("Unrecoverable error:
JSONDecodeError", kombu issue #1551), which busy machines hit. Here a message is written
under a name consumers ignore, then renamed into place (atomic within a folder).

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "filesystem_broker:Transport"

Celery's ``file://`` result backend has the same gap: a worker child reading a task's state
while another rewrites it gets a ``DecodeError``. :class:`AtomicFilesystemBackend` writes
through a temporary file and a rename:

    CELERY_RESULT_BACKEND = "filesystem_broker:AtomicFilesystemBackend+file:///var/results"
"""

from __future__ import annotations

import os
import threading
import uuid
from time import monotonic
from typing import Any

from celery.backends.filesystem import FilesystemBackend
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import ensure_bytes, str_to_bytes
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


class AtomicFilesystemBackend(FilesystemBackend):  # type: ignore[misc]
    def set(self, key: Any, value: Any) -> None:
        path = os.fsencode(self._filename(key))
        partial = path + f".{os.getpid()}.{threading.get_ident()}.part".encode()
        with open(partial, "wb") as out:
            out.write(ensure_bytes(value))
        os.replace(partial, path)
