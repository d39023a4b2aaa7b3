"""`make run` (webapp/launch.py) prints its URL again, boxed, once the web server answers, so the workers'
start-up log does not scroll it out of sight."""

from __future__ import annotations

import socket
import threading

from webapp.launch import DEMO_PASSWORD, DEMO_USER, announce_when_ready, banner


def test_the_url_is_printed_in_a_box_once_the_port_answers(capsys):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    address = f"http://127.0.0.1:{port}/"
    late = threading.Timer(0.5, server.listen)  # the web server starts a moment after the launcher
    late.start()
    try:
        assert announce_when_ready("127.0.0.1", port, address, timeout=10)
    finally:
        late.join()
        server.close()
    printed = capsys.readouterr().out
    assert printed == banner(address) + "\n"
    lines = printed.strip().splitlines()
    assert lines[0] == lines[-1] and set(lines[0]) == {"+", "-"}  # a box
    assert f"Paralab is running at {address}" in printed and f"{DEMO_USER} / {DEMO_PASSWORD}" in printed


def test_nothing_is_printed_if_the_server_never_answers(capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        assert not announce_when_ready("127.0.0.1", port, "http://x/", timeout=1)
    assert capsys.readouterr().out == ""
