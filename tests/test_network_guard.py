import socket

import pytest

from tests.conftest import NetworkAccessError


def test_reaching_beyond_loopback_fails_loudly() -> None:
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("example.com", 443)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        client = socket.create_connection(server.getsockname(), timeout=1)
        client.close()
    finally:
        server.close()
