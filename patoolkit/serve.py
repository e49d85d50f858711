"""`patoolkit serve`: the dashboards in Voila; local only, no tracebacks, idle kernels culled.

The tracker path reaches the notebooks through the PATOOLKIT_TRACKER
environment variable, so the notebooks are never edited. Without a tracker,
a scratch copy of the bundled synthetic sample is served, so trying the
dashboards never changes the file in the repository.

Binding 127.0.0.1 keeps other computers out but not other web pages: a page the
manager visits can point a name of its own at 127.0.0.1 (DNS rebinding) and read
the dashboards as its own. So the server answers only the Host names it serves
(jupyter_server's allow_remote_access / local_hostnames check, which Voila's
standalone app turns off), asks for a random token (jupyter_server's identity
provider; the first request carrying it sets a login cookie), and opens the
kernel websocket only for its own pages (jupyter_server's same-origin check, on
while no allow_origin is set).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from .errors import FileWriteError, PAToolkitError
from .ui.common import BUNDLED_SAMPLE, TRACKER_ENV

# The package's own data, wherever pip put it. Voila and Jupyter take folders, not
# importlib.resources objects; pip always installs a wheel unpacked, so they are folders.
DATA = Path(str(resources.files("patoolkit") / "data"))
# The bundled dashboards; `patoolkit notebooks DIR` copies them out to adapt and
# `patoolkit serve --notebooks DIR` serves the adapted copies.
NOTEBOOKS = DATA / "notebooks"
# Voila finds the start page's template ("patoolkit", built on Voila's "lab") here
JUPYTER_DATA = DATA / "jupyter"
# jupyter_server's identity provider reads its token from here when none is configured;
# the environment, unlike the command line, is not readable by other users (ps).
TOKEN_ENV = "JUPYTER_TOKEN"
# jupyter_server accepts any loopback address (127.0.0.1, [::1]) by itself; names are listed
LOCAL_NAMES = ("localhost",)


def demo_copy() -> Path:
    """A scratch copy of the bundled sample (or a freshly generated one)."""
    folder = Path(tempfile.mkdtemp(prefix="patoolkit-demo-"))
    target = folder / "pa_tracker.xlsx"
    if BUNDLED_SAMPLE.exists():
        shutil.copy2(BUNDLED_SAMPLE, target)
    else:
        from .sample import write_sample

        write_sample(target)
    return target


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def served_names(host: str = "127.0.0.1", allow_hosts: Iterable[str] = ()) -> list[str]:
    """The Host names answered besides loopback addresses: localhost, the name bound (when
    --host is a name, not an address) and each --allow-host, in lower case as browsers send
    them. jupyter_server compares names only: an address is answered if it is loopback."""
    names = [*LOCAL_NAMES, *([host.lower()] if host and _address(host) is None else [])]
    for given in allow_hosts:
        name = given.strip().lower().rstrip(".")
        if _address(name) is not None:
            raise PAToolkitError(
                f"--allow-host {given}: an address, not a name; 127.0.0.1 and [::1] are always "
                "answered and other addresses never are, so reach the server by a name.")
        if not name or any(character in name for character in ":/@ "):
            raise PAToolkitError(
                f"--allow-host {given!r} is not a host name; give the bare name the browser "
                "shows, e.g. --allow-host clinic.local (no http://, no port).")
        names.append(name)
    return list(dict.fromkeys(names))


def start_url(host: str, port: int, token: str) -> str:
    """The URL to open, with the token: 127.0.0.1 when bound to it or to every interface."""
    address = _address(host)
    if host in ("", "localhost") or (address is not None and address.is_unspecified):
        shown = "127.0.0.1"
    elif address is not None and address.version == 6:
        shown = f"[{address}]"
    else:
        shown = host
    return f"http://{shown}:{port}/?token={token}"


def voila_config(host: str = "127.0.0.1", allow_hosts: Iterable[str] = ()) -> Path:
    """A folder with a voila.json that turns jupyter_server's Host check back on.

    Voila's standalone app sets allow_remote_access=True and has no option for it or for
    local_hostnames; its tornado_settings carries both, but only a config file keeps their
    types (the command line's key=value form gives strings, and 'False' is true).
    """
    settings = {"allow_remote_access": False, "local_hostnames": served_names(host, allow_hosts)}
    folder = Path(tempfile.mkdtemp(prefix="patoolkit-serve-"))
    (folder / "voila.json").write_text(json.dumps({"Voila": {"tornado_settings": settings}}),
                                       encoding="utf-8")
    return folder


def bundled_notebooks() -> list[Path]:
    """The dashboards shipped in the package, in their start-page order."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def copy_notebooks(folder: Path) -> list[Path]:
    """Copy the bundled dashboards into folder (made if missing) for a consultant to adapt.

    Never over a file: if any of them is already there, nothing is copied, so an adapted
    dashboard is not lost to a second run. Returns the copies.
    """
    notebooks = bundled_notebooks()
    if not notebooks:
        raise PAToolkitError(f"{NOTEBOOKS}: the bundled dashboards are missing; reinstall "
                             "patoolkit.")
    if folder.exists() and not folder.is_dir():
        raise PAToolkitError(f"{folder}: is a file, not a folder; name a folder for the "
                             "notebooks (nothing was copied).")
    taken = [folder / notebook.name for notebook in notebooks
             if (folder / notebook.name).exists()]
    if taken:
        raise PAToolkitError(
            f"{folder}: already has {', '.join(path.name for path in taken)}; nothing was "
            "copied (an adapted dashboard is never overwritten). Name an empty folder, or "
            "move those files away to get the bundled ones again.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        copies = []
        for notebook in notebooks:
            shutil.copyfile(notebook, folder / notebook.name)
            copies.append(folder / notebook.name)
    except OSError as error:
        raise FileWriteError(f"{folder}: the notebooks could not be copied there "
                             f"({error.strerror or error}); check the folder can be "
                             "written.") from error
    return copies


def notebooks_folder(folder: Path | None) -> Path:
    """The folder to serve: a consultant's adapted copies, else the bundled dashboards."""
    if folder is None:
        if not bundled_notebooks():
            raise PAToolkitError(f"{NOTEBOOKS}: the bundled dashboards are missing; "
                                 "reinstall patoolkit.")
        return NOTEBOOKS
    if not folder.is_dir():
        raise PAToolkitError(f"--notebooks {folder}: no such folder; `patoolkit notebooks "
                             f"{folder}` copies the bundled dashboards there to adapt.")
    if not any(folder.glob("*.ipynb")):
        raise PAToolkitError(f"--notebooks {folder}: no .ipynb notebook in it; `patoolkit "
                             "notebooks DIR` copies the bundled dashboards to a folder.")
    return folder


def voila_command(port: int, host: str, config: Path, idle_minutes: int = 30,
                  notebooks: Path = NOTEBOOKS) -> list[str]:
    """Voila's command line; the token goes in the environment (TOKEN_ENV), not here."""
    return [
        sys.executable, "-m", "voila", str(notebooks), "--no-browser",
        f"--port={port}", f"--Voila.ip={host}", "--Voila.port_retries=0",
        "--VoilaConfiguration.show_tracebacks=False",
        # the start page: dashboards by name with what each is for, not a file list
        "--VoilaConfiguration.template=patoolkit", "--VoilaConfiguration.classic_tree=True",
        # Voila keeps a kernel per open page and does not stop it when the tab closes.
        f"--MappingKernelManager.cull_idle_timeout={idle_minutes * 60}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        # serve no files from notebooks/ but the notebooks themselves (^$ matches no name)
        "--VoilaConfiguration.file_allowlist=^$",
        # ours only: a voila.json left in the working folder or ~/.jupyter is not read
        f"--Voila.config_file_paths={config}",
        # without this Voila sets an empty token (no login); with it, TOKEN_ENV is read
        "--Voila.auto_token=True",
        # Today and Denials run in pre-heated kernels (one waiting each), so they open at once;
        # each checks its tracker and its day when shown (ui.common.PageShown). The forms are
        # not pre-heated: they would hold a tracker loaded long before anyone typed.
        "--VoilaConfiguration.preheat_kernel=True",
        # the next kernel of a pool starts 3 s after one is taken (Voila's default: 1 s), once
        # the page that took it has drawn: on two cores it would slow that page's drawing
        "--VoilaKernelManager.fill_delay=3",
        *(f"--VoilaKernelManager.preheat_denylist={name}" for name in
          ("2_New_request", "3_Client_setup", "5_Scorecard", "6_Claims_audit")),
    ]


def start_page_data(tracker: Path) -> Path:
    """A Jupyter data folder naming the tracker served on the start page.

    It holds served.html for the start page's template (its macro served_tracker gives
    the file's name, escaped) beside a copy of the template's conf.json; JUPYTER_PATH puts
    it before the package's own folder, whose served.html names nothing.
    """
    import html

    folder = Path(tempfile.mkdtemp(prefix="patoolkit-start-"))
    template = folder / "voila" / "templates" / "patoolkit"
    template.mkdir(parents=True)
    shutil.copy2(JUPYTER_DATA / "voila" / "templates" / "patoolkit" / "conf.json", template)
    # escaped for HTML, and braces too, so nothing in a file name is read as Jinja
    name = html.escape(tracker.name).replace("{", "&#123;").replace("}", "&#125;")
    where = html.escape(str(tracker.resolve().parent)).replace("{", "&#123;") \
        .replace("}", "&#125;")
    (template / "served.html").write_text(
        "{% macro served_tracker() %}" + name + "{% endmacro %}"
        "{% macro served_folder() %}" + where + "{% endmacro %}", encoding="utf-8")
    return folder


def serve(tracker: Path | None, port: int = 8866, token: str | None = None,
          host: str = "127.0.0.1", idle_minutes: int = 30,
          allow_hosts: Iterable[str] = (), notebooks: Path | None = None) -> int:
    folder = notebooks_folder(notebooks)
    if token is not None and not token.strip():
        raise PAToolkitError("--token is empty; leave --token out for a random one (an empty "
                             "token would let any web page on this computer in).")
    served_names(host, allow_hosts)  # a mistyped --allow-host stops here, before anything
    if tracker is None:
        tracker = demo_copy()
        print(f"No tracker given: serving a scratch copy of the synthetic sample, {tracker}")
    elif not tracker.exists():
        raise PAToolkitError(f"{tracker}: no such file; check the path.")
    token = token or secrets.token_urlsafe()
    environment = dict(os.environ, **{TRACKER_ENV: str(tracker.resolve()), TOKEN_ENV: token})
    environment["JUPYTER_PATH"] = os.pathsep.join(
        [str(start_page_data(tracker)), str(JUPYTER_DATA),
         *filter(None, [os.environ.get("JUPYTER_PATH")])])
    print(f"Dashboards for {tracker.name}: {start_url(host, port, token)}  (Ctrl+C stops)",
          flush=True)
    address = _address(host)
    if address is not None and not address.is_loopback:
        print("Other computers must use a name given with --allow-host (a bare address other "
              "than 127.0.0.1 or [::1] is refused), and the token.", flush=True)
    command = voila_command(port, host, voila_config(host, allow_hosts), idle_minutes,
                            folder.resolve())
    # Become Voila: Ctrl+C and a service manager's SIGTERM then reach it directly, and no
    # orphaned server is left behind when this process is stopped.
    os.execve(command[0], command, environment)
    return 0  # pragma: no cover (execve does not return)
