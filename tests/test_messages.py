"""The commands and events: their checks, as the actors receive them."""

from __future__ import annotations

from typing import Any

import pytest

from actorhttp.messages import AddRoute, StartServer, StopServer


def test_start_server_defaults_are_valid() -> None:
    command = StartServer()
    assert (command.host, command.port, command.transport) == ("127.0.0.1", 8080, "auto")
    assert command.transport_name == "httptools"
    assert StartServer(certfile="c", keyfile="k").transport_name == "httptools"  # HTTP/2 too


@pytest.mark.parametrize("port", [0, 65535])
def test_start_server_port_bounds_are_accepted(port: int) -> None:
    assert StartServer(port=port).port == port


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": -1}, "port must be from 0 to 65535"),
        ({"port": 65536}, "port must be from 0 to 65535"),
        ({"port": "80"}, "port must be an int"),
        ({"port": True}, "port must be an int"),
        ({"port": 80.0}, "port must be an int"),
        ({"host": ""}, "host must be a non-empty string"),
        ({"host": None}, "host must be a non-empty string"),
        ({"client_max_size": 0}, "client_max_size must be a positive number"),
        ({"client_max_size": -1}, "client_max_size must be a positive number"),
        ({"max_header_size": 0}, "max_header_size must be a positive number"),
        ({"keep_alive_timeout": 0}, "keep_alive_timeout must be a positive number"),
        ({"keep_alive_timeout": -0.5}, "keep_alive_timeout must be a positive number"),
        ({"keep_alive_timeout": float("nan")}, "keep_alive_timeout must be a positive number"),
        ({"read_timeout": 0}, "read_timeout must be a positive number"),
        ({"h2_max_concurrent_streams": 0}, "h2_max_concurrent_streams must be a positive"),
        ({"backlog": 0}, "backlog must be a positive number"),
        ({"backlog": True}, "backlog must be a positive number"),
        ({"certfile": "cert.pem"}, "TLS needs both certfile and keyfile"),
        ({"keyfile": "key.pem"}, "TLS needs both certfile and keyfile"),
        ({"transport": "uvicorn"}, "unknown transport 'uvicorn'"),
    ],
)
def test_start_server_refuses_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StartServer(**kwargs)


def test_start_server_allows_no_limits_where_optional() -> None:
    command = StartServer(client_max_size=None, read_timeout=None)
    assert (command.client_max_size, command.read_timeout) == (None, None)


def test_start_server_accepts_tls_pair() -> None:
    command = StartServer(certfile="cert.pem", keyfile="key.pem")
    assert (command.certfile, command.keyfile) == ("cert.pem", "key.pem")


def test_stop_server_refuses_negative_grace() -> None:
    with pytest.raises(ValueError, match="grace must be >= 0"):
        StopServer(grace=-1)


@pytest.mark.parametrize("grace", ["x", None, True])
def test_stop_server_refuses_non_number_grace(grace: Any) -> None:
    with pytest.raises(ValueError, match="grace must be a number"):
        StopServer(grace=grace)


def test_stop_server_accepts_zero_grace() -> None:
    assert StopServer(grace=0).grace == 0


def test_add_route_accepts_single_method_string() -> None:
    command = AddRoute("get", "/x")
    assert command.methods == ("GET",)
    assert (command.path, command.handler, command.name) == ("/x", None, None)


def test_add_route_normalises_methods_to_upper_case_tuple() -> None:
    assert AddRoute(["get", "Post"], "/x").methods == ("GET", "POST")


@pytest.mark.parametrize("methods", [[], (), "", ["GET", ""]])
def test_add_route_refuses_empty_methods(methods: Any) -> None:
    with pytest.raises(ValueError, match="methods must be non-empty method names"):
        AddRoute(methods, "/x")
