"""``arena-kit label --serve``: the labeling session served by Voilà to untrusted browsers.

The real command on a free loopback port (stopped by its pid), Chromium from the sandboxed
test launcher (``launch_test_browser``), two browser contexts as two annotators voting at once
into one store (SQLite and PostgreSQL), and a hostile client on the page's own kernel
websocket. Plus headless checks of the served session's switches and of the command's errors.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from jupyter_harness import free_port, launch_test_browser
from test_labeling_helpers import make_data, needs_bwrap, sandbox

from arena_kit.labeling import ArenaSession, LabelingController, LabelingError
from arena_kit.serve import (
    STORE_ENV,
    TABLES_ENV,
    USER_HEADER_ENV,
    NotSignedInError,
    served_annotator,
    served_session,
)
from arena_kit.store import VoteStore

CHROMIUM = "/usr/bin/chromium"
ARENA_KIT = str(Path(sys.executable).with_name("arena-kit"))
F = "```"
MODELS = ("model-ant", "model-bee", "model-cat", "model-dog")
MISSING = "import tensorflow\n"  # model-dog's answers need a package the sandbox lacks
FORBIDDEN = (
    "api/kernels", "api/contents", "api/sessions", "api/terminals", "api/kernelspecs",
    "terminals/websocket/1", "labeling.ipynb", "voila/files/labeling.ipynb",
    "voila/render/labeling.ipynb", "voila/api/contents", "lab", "tree",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Headless: the served switches, without a server.


def test_the_annotator_comes_from_the_proxy_when_one_is_trusted():
    header = {USER_HEADER_ENV: "X-Forwarded-User"}
    assert served_annotator({**header, "HTTP_X_FORWARDED_USER": "ada"}) == "ada"
    with pytest.raises(NotSignedInError, match="X-Forwarded-User"):
        served_annotator({**header, "JUPYTERHUB_USER": "hub-user"})  # not through the proxy
    assert served_annotator({"JUPYTERHUB_USER": "hub-user"}) == "hub-user"
    # Without --user-header a client's own header means nothing: the page asks.
    assert served_annotator({"HTTP_X_FORWARDED_USER": "mallory"}) is None


def test_a_page_opened_without_the_proxys_header_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # served_session sends both to the log
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    monkeypatch.setenv(USER_HEADER_ENV, "X-Forwarded-User")
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "votes.sqlite"))
    monkeypatch.setenv(TABLES_ENV, str(tmp_path))
    monkeypatch.delenv("HTTP_X_FORWARDED_USER", raising=False)
    shown = served_session()
    assert "Sign in first" in shown.value
    assert str(tmp_path) not in shown.value
    assert not (tmp_path / "votes.sqlite").exists()  # nothing opened for a refused page


def test_a_served_controller_never_installs(tmp_path):
    battles, responses = make_data(1)
    with pytest.raises(ValueError, match="never installs"):
        LabelingController(
            battles, responses, tmp_path / "votes.sqlite", served=True, allow_install=True
        )


@needs_bwrap
def test_forged_clicks_cannot_install_switch_annotator_or_start_live_apps(tmp_path):
    battles, responses = make_data(2)
    # Single-turn battles only (p0 is a conversation): their panels hold the hidden buttons.
    battles = battles[battles["prompt_id"] != "p0"].reset_index(drop=True)
    responses = responses[responses["prompt_id"] != "p0"].reset_index(drop=True)
    missing = responses["model"] == "delta-net-3b"
    responses.loc[missing, "messages"] = responses.loc[missing, "messages"].map(
        lambda messages: [
            messages[0],
            {"role": "assistant", "content": f"{F}python\n{MISSING}{F}\n"},
        ]  # fmt: skip
    )
    responses.loc[missing, "turn"] = 1
    session = ArenaSession(
        battles, responses, tmp_path / "votes.sqlite", annotator="ann-1", served=True,
        executor=sandbox(), repeat_share=0.0,
    )  # fmt: skip
    try:
        assert session.wait_shown(60)
        assert session.controller.install_options(MISSING, "python") == {}
        # What a browser can send through the comm channel: any value, a click on any button,
        # hidden ones included (the same handlers a real click runs).
        session.annotator_box.value = "mallory"
        session.start_button.click()
        assert "cannot change" in session.status.value
        assert len(session._fixed) == 2
        for panel in session._fixed.values():
            panel["install"].click()
            assert "installing packages is off" in session.status.value
            panel["live"].click()
            assert "Try it live is off" in session.status.value
        with pytest.raises(LabelingError, match="too long"):
            session.controller.rerun("A", "x = 1\n" * 20_000)
        session.click("A")
        (vote,) = session.store.votes().to_dict("records")
        assert vote["annotator"] == "ann-1"
        assert list(vote["edits"]) == []  # no run was started by the forged clicks
    finally:
        session.close()


def test_the_command_says_what_is_missing(tmp_path):
    without = subprocess.run([ARENA_KIT, "label"], capture_output=True, text=True, timeout=60)
    assert without.returncode == 2 and "only --serve" in without.stderr
    env = {k: v for k, v in os.environ.items() if k != "ARENA_KIT_STORE"}
    no_store = subprocess.run(
        [ARENA_KIT, "label", "--serve"], capture_output=True, text=True, timeout=60, env=env
    )
    assert no_store.returncode == 1 and "no vote store" in no_store.stderr
    bad = tmp_path / "battles.jsonl"
    bad.write_text('{"battle_id": "b1"\n')
    broken = subprocess.run(
        [ARENA_KIT, "label", "--serve", "--store", str(tmp_path / "v.sqlite"), "--battles",
         str(bad), "--responses", str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert broken.returncode == 1 and str(bad) in broken.stderr and "line 1" in broken.stderr


# ---------------------------------------------------------------------------------------------
# The real thing: the command, Voilà, Chromium.


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    """Six battles: model-dog (whose answers import a missing package) against the others,
    on two prompts; each other answer prints a number (never a model's name)."""
    responses, battles = [], []
    for p in range(2):
        prompt = f"Print the sum of the numbers below {10 + p} in Python."
        for m, model in enumerate(MODELS):
            code = MISSING + "print(1)\n" if model == "model-dog" else f"print({m * 100 + p})\n"
            answer = f"Here you are:\n\n{F}python\n{code}{F}\n"
            responses.append({
                "response_id": f"r{p}{m}", "prompt_id": f"p{p}", "model": model,
                "messages": [{"role": "user", "content": prompt},
                             {"role": "assistant", "content": answer}],
            })  # fmt: skip
        for m in range(3):
            battles.append({
                "battle_id": f"b{p}{m}", "prompt_id": f"p{p}", "category": "problem_solving",
                "model_a": MODELS[m], "model_b": "model-dog", "response_a": f"r{p}{m}",
                "response_b": f"r{p}3", "lang_a": "python", "lang_b": "python",
                "source": "test",
            })  # fmt: skip
    (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in responses))
    (folder / "battles.jsonl").write_text("".join(json.dumps(b) + "\n" for b in battles))
    return folder / "battles.jsonl", folder / "responses.jsonl"


@pytest.fixture(params=["sqlite", "postgres"])
def served_store(request, sandbox_tmp_path):
    """Where the votes go and how people sign in: a SQLite file in a folder the served user
    may write (its write-ahead log goes beside it), the annotators typing their ids; or a
    PostgreSQL URL, the server behind a (simulated) proxy at ``/arena/`` that names the
    annotator in ``X-Forwarded-User``. ``secret``: what must never reach a page."""
    if request.param == "sqlite":
        folder = sandbox_tmp_path / "store"
        folder.mkdir()
        folder.chmod(0o1777)
        path = str(folder / "votes.sqlite")
        return SimpleNamespace(location=path, secret=path, kind="sqlite", proxy=False)
    url = request.getfixturevalue("postgres_url")
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    return SimpleNamespace(location=url, secret=password, kind="postgres", proxy=True)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _processes_of(uid: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, AssertionError):
            if entry.name.isdigit() and _uid(int(entry.name)) == uid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def running_served(arguments: list[str], log_path: Path, env: dict[str, str] | None = None):
    """The real ``arena-kit label --serve ARGUMENTS`` on a free loopback port, until it
    answers; stopped by its pid (SIGTERM, as a person's Ctrl-C) afterwards. Yields origin,
    url, port and pid (``benchmarks/bench_serve.py`` uses it too)."""
    port = free_port()
    command = [ARENA_KIT, "label", "--serve", "--port", str(port), *arguments]
    origin = f"http://127.0.0.1:{port}"
    log = log_path.open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:

        def answering() -> bool:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:  # a path that starts no kernel: any HTTP answer means the server is up
                urllib.request.urlopen(f"{origin}/api/status", timeout=2)
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True

        _wait(answering, 120, "the served labeling session")
        yield SimpleNamespace(origin=origin, url=origin + "/", port=port, pid=server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _message(msg_type: str, content: dict, metadata: dict | None = None) -> str:
    """A Jupyter message as a hostile page would send it on its kernel's websocket."""
    header = {
        "msg_id": uuid.uuid4().hex, "username": "mallory", "session": "forged",
        "msg_type": msg_type, "version": "5.3",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }  # fmt: skip
    return json.dumps({
        "header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
        "buffers": [], "channel": "shell",
    })  # fmt: skip


@contextlib.contextmanager
def forged(origin: str, kernel_id: str, marker: Path):
    """On the page's kernel: code to run (must be dropped), then through the widgets' comm
    channel: another annotator typed in and Start clicked, and a click on each panel's hidden
    Install button. The socket stays open in the ``with`` block (closing it at once can drop
    what was sent)."""
    import websocket

    socket = websocket.create_connection(
        origin.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels?session_id=forged",
        timeout=20,
    )
    try:
        code = f"open({str(marker)!r}, 'w').write('ran')"
        socket.send(_message("execute_request", {
            "code": code, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True,
        }))  # fmt: skip
        control = uuid.uuid4().hex
        socket.send(_message(
            "comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
            metadata={"version": "1.0.0"},
        ))  # fmt: skip
        socket.send(
            _message("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        )
        states: dict = {}
        deadline = time.monotonic() + 30
        while not states and time.monotonic() < deadline:
            reply = json.loads(socket.recv())
            data = reply.get("content", {}).get("data") or {}
            assert reply["header"]["msg_type"] != "execute_reply", "the kernel ran forged code"
            if data.get("method") == "update_states":
                states = data["states"]
        assert states, "no widget states came back"

        def models(**wanted: str) -> list[str]:
            return [
                model_id for model_id, model in states.items()
                if all(model["state"].get(k) == v for k, v in wanted.items())
            ]  # fmt: skip

        def send(model_id: str, data: dict) -> None:
            socket.send(_message("comm_msg", {"comm_id": model_id, "data": data}))

        (login,) = models(placeholder="your annotator id (a name or code; nothing else is stored)")
        (start,) = models(description="Start")
        installs = models(description="⤓ Install and run")
        assert len(installs) == 2
        send(login, {"method": "update", "state": {"value": "mallory"}, "buffer_paths": []})
        send(start, {"method": "custom", "content": {"event": "click"}})
        for install in installs:
            send(install, {"method": "custom", "content": {"event": "click"}})
        yield
    finally:
        socket.close()


@pytest.mark.slow
@needs_bwrap
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no system Chromium")
def test_two_annotators_vote_at_once_in_the_served_page(served_store, sandbox_tmp_path, tmp_path):
    import pwd

    from playwright.sync_api import sync_playwright

    inputs = _write_inputs(tmp_path)
    shots = Path(os.environ.get("ARENA_KIT_SHOTS", tmp_path))
    marker = Path(served_store.location).parent / "forged-code-ran"
    if served_store.kind == "postgres":
        marker = sandbox_tmp_path / "forged-code-ran"
        marker.parent.chmod(0o1777)
    requests: list[str] = []
    frames: list[str | bytes] = []
    arguments = [
        "--battles", str(inputs[0]), "--responses", str(inputs[1]), "--cull-idle", "5",
        "--cache", str(sandbox_tmp_path / "cache"),
    ]  # fmt: skip
    env = dict(os.environ)
    if served_store.kind == "postgres":
        env["ARENA_KIT_STORE"] = served_store.location  # the way for a URL with a password
    else:
        arguments += ["--store", served_store.location]
    base = "/arena" if served_store.proxy else ""
    if served_store.proxy:
        arguments += ["--base-url", "/arena/", "--user-header", "X-Forwarded-User"]
    with running_served(
        arguments, tmp_path / "serve.log", env
    ) as server, sync_playwright() as playwright:  # fmt: skip
        browser, cleanup = launch_test_browser(playwright, ports=[server.port])
        try:

            def open_page(signed_in_as: str | None = None):
                headers = {"X-Forwarded-User": signed_in_as} if signed_in_as else {}
                page = browser.new_context(
                    viewport={"width": 1400, "height": 900}, extra_http_headers=headers
                ).new_page()
                page.on("request", lambda request: requests.append(request.url))

                def watch(ws):
                    requests.append(ws.url)
                    ws.on("framereceived", lambda payload: frames.append(payload))

                page.on("websocket", watch)
                page.goto(f"{server.origin}{base}/")
                return page

            # Two contexts: two people, two kernels.
            pages = {
                annotator: open_page(annotator if served_store.proxy else None)
                for annotator in ("alice", "bob")
            }
            for annotator, page in pages.items():
                if served_store.proxy:  # the proxy named them: nothing to type
                    page.get_by_text(f"annotator {annotator}").wait_for(timeout=90_000)
                    continue
                box = page.get_by_placeholder("your annotator id", exact=False)
                box.wait_for(timeout=90_000)
                box.fill(annotator)
                page.get_by_role("button", name="Start", exact=True).click()

            def ready(page) -> bool:
                vote = page.get_by_role("button", name="A is better")
                return vote.is_visible() and vote.is_enabled()

            for page in pages.values():
                _wait(lambda page=page: ready(page), 120, "both outputs")
                text = page.locator(".arena-session").inner_text()
                assert "missing dependency" in text and "tensorflow" in text
                assert not any(model in text for model in MODELS)  # blind until the vote
                assert not page.get_by_role("button", name="⤓ Install and run").is_visible()
                assert not page.get_by_role("button", name="▶ Try it live").is_visible()

            # A hostile client on alice's own kernel websocket.
            alice = pages["alice"]
            kernel_id = alice.evaluate(
                "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
            )
            with forged(server.origin + base, kernel_id, marker):
                alice.locator(".arena-session").get_by_text("installing packages is off").wait_for(
                    timeout=30_000
                )
            assert not marker.exists(), "code sent on the kernel's websocket ran"

            # Two rounds, the two annotators voting in turn, each vote landing while the other
            # person's kernel is writing too.
            for round_ in range(2):
                for annotator, page in pages.items():
                    page.get_by_role("button", name="A is better" if annotator == "alice"
                                     else "B is better").click()  # fmt: skip
                counted = f"{round_ + 1} vote{'s' if round_ else ''} ·"
                for page in pages.values():
                    session = page.locator(".arena-session")
                    _wait(lambda s=session, c=counted: c in s.inner_text(), 60, "the vote saved")
                    _wait(lambda page=page: ready(page), 120, "the next battle")
                if round_ == 0:
                    alice.screenshot(path=str(shots / "serve-annotator.png"))

            # The kernels: one per page, none as root, none as the sandbox's uid.
            (voila,) = _children(server.pid)
            kernels = [pid for pid in _children(voila)
                       if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # fmt: skip
            assert len(kernels) == 2, kernels
            # (As root the command runs them as its own user; else as the caller.)
            served_uid = pwd.getpwnam("arena-kit").pw_uid if os.geteuid() == 0 else os.getuid()
            assert {_uid(voila), *map(_uid, kernels)} == {served_uid}
            assert served_uid not in (0, 65534)

            # Nothing of the notebook server is there for an annotator.
            for path in FORBIDDEN:
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(f"{server.origin}{base}/{path}", timeout=10)
                assert refused.value.code in (403, 404), (path, refused.value.code)

            # A closed page's kernel goes (Voilà's unload, else the idle cull).
            pages["bob"].close(run_before_unload=True)
            _wait(lambda: len([p for p in kernels if Path(f"/proc/{p}").exists()]) == 1, 60,
                  "the closed page's kernel to stop")  # fmt: skip
            if served_store.proxy:  # a request that did not come through the proxy
                stranger = open_page()
                stranger.get_by_text("Sign in first").wait_for(timeout=90_000)
                assert stranger.get_by_placeholder("your annotator id", exact=False).count() == 0
                stranger.close(run_before_unload=True)
            page_html = alice.content()
        finally:
            cleanup()

    # Stopped by its pid: nothing of the served user is left running.
    assert not [pid for pid in (voila, *kernels) if Path(f"/proc/{pid}").exists()]
    if os.geteuid() == 0:
        assert _processes_of(served_uid) == []
    state = [line for line in (tmp_path / "serve.log").read_text().splitlines()
             if "Storing connection files in" in line]  # fmt: skip
    assert state and not Path(state[0].split(" in ")[-1].split("/tmp/voila_")[0]).exists()

    # Every request went to the server's own origin (websockets included).
    origins = (server.origin, server.origin.replace("http", "ws"), "data:", "blob:")
    assert requests and all(url.startswith(origins) for url in requests), [
        url for url in requests if not url.startswith(origins)
    ]
    # The store's location (a password, for PostgreSQL) never reached a page.
    secret = served_store.secret
    assert secret not in page_html
    for frame in frames:
        assert (secret.encode() if isinstance(frame, bytes) else secret) not in frame

    votes = VoteStore(served_store.location).votes()
    assert sorted(votes["annotator"]) == ["alice", "alice", "bob", "bob"]
    assert votes["battle_id"].is_unique  # one vote per battle: the two never judged the same
    alice_votes = votes[votes["annotator"] == "alice"]
    winners = pd.Series(
        [("model_b" if swapped else "model_a") for swapped in alice_votes["swapped"]]
    )
    assert list(alice_votes["winner"]) == list(winners)  # "A is better": the left panel
    assert all(len(edits) == 0 for edits in alice_votes["edits"])  # no forged install ran
