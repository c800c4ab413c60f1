"""A TCP relay in front of a real server (PostgreSQL, MariaDB...) that a test can black-hole.

Forwards bytes both ways until :meth:`TcpRelay.black_hole`; from then on every connection,
open or new, is accepted (or kept) but never answered: what a client sends is read and
dropped, nothing comes back, as with a database host that vanished behind a firewall that
lets the TCP handshake through (the worst case: only the client's own timeouts end it).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpRelay:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._holed = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def black_hole(self) -> None:
        """From now on nothing is answered, on open and new connections alike."""
        self._holed.set()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        if not self._holed.is_set():
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                return
            self._keep(upstream)
        peers = {client: upstream, upstream: client} if upstream else {client: None}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                if sock is not None:
                    selector.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                for key, _ in selector.select(timeout=0.2):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        if not self._holed.is_set():  # a side closed: so does the other
                            for one in peers:
                                if one is not None:
                                    with contextlib.suppress(OSError):
                                        one.close()
                            return
                        selector.unregister(sock)
                        continue
                    peer = peers.get(sock)
                    if peer is not None and not self._holed.is_set():
                        with contextlib.suppress(OSError):
                            peer.sendall(data)
                    # black-holed: read and dropped, nothing forwarded, nothing answered
