"""`patoolkit serve` answers only the names it serves, asks for its token, and takes the kernel
websocket only from its own pages.

The threat is DNS rebinding: a web page the manager visits points a name of its own
(attacker.example) at 127.0.0.1, so the browser sends `Host: attacker.example:PORT` and
`Origin: http://attacker.example:PORT`, and would let that page read the dashboards and their
widget state (patient IDs) as its own. The server tests start the real server on a free
loopback port, the way the browser tests do (their `serving`), and send a few requests to
127.0.0.1 only; the Host and Origin headers are what a browser would send after a rebinding.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
import websocket  # websocket-client, which jupyter_server requires
from test_browser import KERNEL_SECONDS, SAMPLE_TRACKER, Server, serving

from patoolkit import serve as serve_module
from patoolkit.cli import build_parser
from patoolkit.errors import PAToolkitError

TODAY = "voila/render/1_Today.ipynb"
ALLOWED = "clinic.local"  # given with --allow-host


# --- what the server is told (no server started) ----------------------------------------------

@pytest.mark.parametrize(("host", "allow_hosts", "expected", "reason"), [
    ("127.0.0.1", [], ["localhost"], "loopback addresses pass jupyter_server's check by "
     "themselves; localhost is the one name"),
    ("127.0.0.1", ["clinic.local", "Front-Desk."], ["localhost", "clinic.local", "front-desk"],
     "browsers send names in lower case, without the root dot"),
    ("frontdesk-pc", ["frontdesk-pc"], ["localhost", "frontdesk-pc"],
     "a name given to --host is served, once"),
    ("0.0.0.0", [], ["localhost"], "an address given to --host adds no name"),
])
def test_served_names(host: str, allow_hosts: list[str], expected: list[str],
                      reason: str) -> None:
    assert serve_module.served_names(host, allow_hosts) == expected, reason


@pytest.mark.parametrize(("given", "reason"), [
    ("192.168.1.20", "jupyter_server checks addresses only for loopback; a name is needed"),
    ("[::1]", "an address, already answered"),
    ("clinic.local:8866", "a port is not part of the name"),
    ("http://clinic.local", "a URL, not a name"),
    ("", "empty"),
])
def test_allow_host_takes_names_only(given: str, reason: str) -> None:
    with pytest.raises(PAToolkitError, match="--allow-host"):
        serve_module.served_names("127.0.0.1", [given])


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "http://127.0.0.1:8866/?token=T"),
    ("localhost", "http://127.0.0.1:8866/?token=T"),
    ("0.0.0.0", "http://127.0.0.1:8866/?token=T"),  # every interface: this computer's address
    ("::1", "http://[::1]:8866/?token=T"),
    ("frontdesk-pc", "http://frontdesk-pc:8866/?token=T"),
])
def test_start_url_carries_the_token(host: str, expected: str) -> None:
    assert serve_module.start_url(host, 8866, "T") == expected


def test_the_cli_collects_each_allow_host() -> None:
    args = build_parser().parse_args(
        ["serve", "--allow-host", "clinic.local", "--allow-host", "frontdesk-pc"])
    assert args.allow_host == ["clinic.local", "frontdesk-pc"]
    assert build_parser().parse_args(["serve"]).allow_host == []


def run_serve(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              tracker: Path, token: str | None = None,
              allow_hosts: Sequence[str] = ()) -> tuple[str, list[str], dict[str, str]]:
    """What `serve` prints and would run, with os.execve caught instead of becoming Voila."""
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(serve_module.tempfile, "tempdir", str(tracker.parent))  # its voila.json
    monkeypatch.setattr(serve_module.os, "execve",
                        lambda path, command, environment: started.append((command, environment)))
    assert serve_module.serve(tracker, port=8866, token=token, allow_hosts=allow_hosts) == 0
    [(command, environment)] = started
    return capsys.readouterr().out, command, environment


def test_each_start_has_a_new_random_token_kept_off_the_command_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    tracker = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)
    tokens = []
    for _ in range(2):
        printed, command, environment = run_serve(monkeypatch, capsys, tracker,
                                                  allow_hosts=["clinic.local"])
        token = environment[serve_module.TOKEN_ENV]
        assert len(token) >= 40  # secrets.token_urlsafe(): 32 random bytes
        assert f"http://127.0.0.1:8866/?token={token}" in printed
        assert not any(token in part for part in command), "other users can read argv (ps)"
        tokens.append(token)
        config_paths = next(part for part in command
                            if part.startswith("--Voila.config_file_paths="))
        config = Path(config_paths.partition("=")[2]) / "voila.json"
        settings = json.loads(config.read_text(encoding="utf-8"))["Voila"]["tornado_settings"]
        assert settings == {"allow_remote_access": False,
                            "local_hostnames": ["localhost", "clinic.local"]}
    assert tokens[0] != tokens[1]
    printed, _, environment = run_serve(monkeypatch, capsys, tracker, token="chosen-token")
    assert environment[serve_module.TOKEN_ENV] == "chosen-token"
    assert "?token=chosen-token" in printed


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PAToolkitError, match="--token is empty"):
        serve_module.serve(tmp_path / "pa_tracker.xlsx", token=" ")


# --- the running server -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    tracker = folder / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)
    with serving(tracker, folder / "server.log", "--allow-host", ALLOWED) as running:
        yield running


def port_of(server: Server) -> int:
    return int(server.url.rstrip("/").rpartition(":")[2])


class Reply(NamedTuple):
    status: int
    location: str
    cookie: str  # the Set-Cookie name=value pairs, as the browser sends them back
    body: str


def get(server: Server, path: str, host: str = "127.0.0.1", cookie: str = "") -> Reply:
    """GET 127.0.0.1:PORT/path as a browser at `host` would (redirects are not followed)."""
    port = port_of(server)
    headers = {"Host": f"{host}:{port}", **({"Cookie": cookie} if cookie else {})}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=KERNEL_SECONDS)
    try:
        connection.request("GET", f"/{path}", headers=headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    finally:
        connection.close()
    cookies = [value.split(";")[0] for name, value in response.getheaders()
               if name.lower() == "set-cookie"]
    return Reply(response.status, response.getheader("Location", ""), "; ".join(cookies), body)


@pytest.fixture(scope="module")
def dashboard(server: Server) -> tuple[str, str]:
    """The Today dashboard opened with the token: its kernel's ID and the login cookie."""
    reply = get(server, f"{TODAY}?token={server.token}")
    assert reply.status == 200
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', reply.body)
    assert kernel, "no kernel ID in the dashboard's page"
    assert reply.cookie.startswith("username-"), "the token gave no login cookie"
    return kernel.group(1), reply.cookie


@pytest.mark.parametrize(("host", "reason"), [
    ("127.0.0.1", "the address serve prints"),
    ("localhost", "this computer's name"),
    ("[::1]", "the IPv6 loopback address"),
    (ALLOWED, "given with --allow-host"),
])
def test_the_served_names_answer_with_the_token(server: Server, host: str, reason: str) -> None:
    assert get(server, f"?token={server.token}", host).status == 200, reason


# Voila's own scripts and styles (voila/static/...) are served to any Host, as jupyter_server
# serves its static files: they are the same public files for everyone and carry no data.
@pytest.mark.parametrize("path", ["", TODAY, "login"])
def test_a_foreign_host_is_refused_even_with_the_token(server: Server, path: str) -> None:
    assert get(server, f"{path}?token={server.token}", "attacker.example").status == 403
    assert "Blocking request with non-local 'Host' attacker.example" in server.log.read_text()


@pytest.mark.parametrize(("path", "reason"), [
    (TODAY, "no token"),
    (f"{TODAY}?token=guessed", "a wrong token"),
    ("", "the start page, no token"),
])
def test_without_the_token_pages_ask_for_it(server: Server, path: str, reason: str) -> None:
    reply = get(server, path)
    assert reply.status == 302, reason
    assert reply.location.startswith("/login?next="), reason


def test_the_login_cookie_from_the_token_opens_the_start_page(server: Server,
                                                              dashboard: tuple[str, str]) -> None:
    _, cookie = dashboard
    assert get(server, "", cookie=cookie).status == 200
    assert get(server, "", "attacker.example", cookie=cookie).status == 403


def open_channels(server: Server, kernel: str, host: str, origin: str, cookie: str,
                  token: bool) -> int:
    """The status of a kernel websocket handshake from `origin` (101 when it opens)."""
    port = port_of(server)
    query = f"?token={server.token}" if token else ""
    try:
        connection = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels{query}", timeout=30,
            host=f"{host}:{port}", origin=f"http://{origin}:{port}",
            header=[f"Cookie: {cookie}"] if cookie else [])
    except websocket.WebSocketBadStatusException as refused:
        return int(refused.status_code)
    connection.close()
    return 101


@pytest.mark.parametrize(("host", "origin", "with_cookie", "with_token", "expected", "reason"), [
    ("127.0.0.1", "127.0.0.1", True, False, 101, "the dashboard's own page (the control)"),
    ("127.0.0.1", "attacker.example", True, False, 403, "another page in the manager's "
     "browser: a foreign Origin, even if the cookie went along"),
    ("127.0.0.1", "127.0.0.1", False, False, 403, "no cookie, no token"),
    ("attacker.example", "attacker.example", True, False, 403, "DNS rebinding: Host and Origin "
     "both the page's own name"),
    ("attacker.example", "attacker.example", False, True, 403, "DNS rebinding, even with the "
     "token"),
])
def test_the_kernel_websocket_opens_only_for_the_servers_own_pages(
        server: Server, dashboard: tuple[str, str], host: str, origin: str, with_cookie: bool,
        with_token: bool, expected: int, reason: str) -> None:
    kernel, cookie = dashboard
    status = open_channels(server, kernel, host, origin, cookie if with_cookie else "",
                           with_token)
    assert status == expected, reason
