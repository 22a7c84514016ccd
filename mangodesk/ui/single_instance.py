"""One running desk per profile: a second launch hands its request to the running desk (which
comes to the front) and exits, instead of opening a second window on the same database.

The running desk listens on a ``QLocalServer`` whose name is derived from the user and the
profile's data folder, so two profiles (or two users on one PC) never meet."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from mangodesk.paths import Paths

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
MAX_MESSAGE = 64 * 1024


def instance_name(paths: Paths) -> str:
    """The local-socket name of the desk for this user and profile."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "?"
    digest = hashlib.sha256(f"{user}\0{paths.data_dir.resolve()}".encode()).hexdigest()
    return f"mangodesk-{digest[:24]}"


def send_to_running(name: str, message: dict[str, Any],
                    timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Hand ``message`` to the desk listening on ``name``. False when none is running (or
    it did not answer in time: then this launch becomes the running desk)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(json.dumps(message).encode() + b"\n")
    socket.waitForBytesWritten(timeout_ms)
    acknowledged = socket.waitForReadyRead(timeout_ms) and bytes(
        socket.readAll().data()).startswith(b"ok")
    socket.disconnectFromServer()
    return bool(acknowledged)


class InstanceServer(QObject):
    """Listens for later launches of the same profile; each request arrives as
    ``request_received`` (a dict such as ``{"command": "show"}``)."""

    request_received = Signal(dict)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening. A name left behind by a desk that crashed is cleared first (the
        caller has already found that nobody answers on it)."""
        QLocalServer.removeServer(self.name)
        if not self.server.listen(self.name):
            log.warning("other launches cannot reach this desk: %s", self.server.errorString())
            return False
        return True

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE:
                socket.abort()
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            request = json.loads(line)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            log.warning("ignored an unreadable request from another launch")
            socket.write(b"unreadable\n")
            return
        socket.write(b"ok\n")
        socket.flush()
        self.request_received.emit(request)

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()
