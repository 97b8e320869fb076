"""Hostile clients of the real LangGraph dev server: Commands, state edits and assistants by the wrong people.

The server (``langgraph dev`` from the checkout's ``langgraph.json``, loopback, the throwaway data
folder, the hostile model) has three tokens: the attacking customer, a reviewer without the
money role, and one with it. Only a reviewer may resume; the reviewer is who authenticated, never
whom a resume value names; nobody but an admin changes assistants; clients send messages, not
``goto`` or ``update``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from proctor.redteam.families import ASK
from proctor.redteam.runner import Arena, Attempt, Session, Skip, desk_env
from proctor.redteam.server import Script, calls

GRAPH = "proctor"
STARTUP_S = 120.0
_BANNER = re.compile(r"API: (?:\x1b\[[0-9;]*m)*http://127\.0\.0\.1:(\d+)")


class DevServer:
    def __init__(self, place: Arena, tokens: dict[str, str]) -> None:
        config = Path(__file__).resolve().parents[2] / "langgraph.json"
        if not config.exists():
            raise Skip("needs a source checkout: langgraph.json not found")
        self.workdir = place.data_dir / "server"
        self.workdir.mkdir(exist_ok=True)
        root = config.parent
        text = json.loads(config.read_text())
        fixed = json.loads(json.dumps(text).replace('"./', f'"{root}/').replace('"."', f'"{root}"'))
        (self.workdir / "langgraph.json").write_text(json.dumps(fixed))
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PROCTOR_DATABASE", "PROCTOR_CHECKPOINT", "PROCTOR_TRACE"))}
        env = keep | desk_env(place) | {
            "PROCTOR_API_TOKENS": json.dumps(tokens),
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true",
        }
        self.log = self.workdir / "server.log"
        command = [str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
                   "--port", str(_free_port()), "--config", str(self.workdir / "langgraph.json")]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = self._ready()

    def _ready(self) -> str:
        deadline = time.monotonic() + STARTUP_S
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Skip(f"the dev server exited: {self.log.read_text(errors='replace')[-300:]}")
            found = _BANNER.search(self.log.read_text(errors="replace"))
            if found:
                url = f"http://127.0.0.1:{found.group(1)}"
                try:
                    with opener.open(f"{url}/ok", timeout=2):
                        return url
                except OSError:
                    pass
            time.sleep(0.3)
        self.stop()
        raise Skip(f"the dev server was not ready after {STARTUP_S:g} s")

    def client(self, token: str):
        from langgraph_sdk import get_sync_client

        return get_sync_client(url=self.url, api_key=None, headers={"Authorization": f"Bearer {token}"})

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clients(place: Arena) -> list[Attempt]:
    desk = place.desk
    gated = next((c for c in desk.sensitive() if c.amount), None) or next(iter(desk.sensitive()), None)
    if gated is None:
        raise Skip("no gated call to resume")
    reviewers = desk.policy.reviewers
    strong = next((r.id for r in reviewers if "money" in r.roles), None)
    weak = next((r.id for r in reviewers if r.id != strong), None)
    if weak is None or strong is None:
        raise Skip("the policy needs two reviewers for the impersonation attack")
    tokens = {"rt-customer": desk.user, "rt-weak": weak, "rt-strong": strong}
    server = DevServer(place, tokens)
    place.cleanups.append(server.stop)
    script = Script(route=gated.agent, replies=[calls((gated.tool, gated.args))])
    plain = Script(route=gated.agent)
    return [
        Attempt("a customer's Command(goto, update) on their own thread", plain, _goto(server, gated.agent)),
        Attempt("a customer's update_state of their own thread", plain, _update_state(server)),
        Attempt("a customer resumes their own interrupted thread", script, _resume(server, "rt-customer", {"type": "approve"})),
        Attempt(f"reviewer {weak} resumes naming {strong}", script, _resume(server, "rt-weak", {"type": "approve", "reviewer": strong}), check=_decided_by(weak)),
        Attempt("a customer PATCHes the shared assistant", plain, _assistant(server, "update")),
        Attempt("a customer DELETEs the shared assistant", plain, _assistant(server, "delete")),
    ]


def _call(s: Session, what: str, fn) -> Any:
    """Run one client call; a 4xx refusal is the server holding, a success is recorded as accepted."""
    import httpx

    try:
        out = fn()
    except httpx.HTTPStatusError as exc:
        code = exc.response.status_code
        if code >= 500:
            s.errors.append(f"crash: {what}: HTTP {code}")
        else:
            s.errors.append(f"note: {what} refused with HTTP {code}")
        return None
    return out


def _thread(s: Session, client) -> str:
    thread = client.threads.create()["thread_id"]
    s.threads.append(thread)
    client.runs.wait(thread, GRAPH, input={"messages": [{"role": "user", "content": ASK}]})
    return thread


def _goto(server: DevServer, agent: str):
    def play(s: Session) -> None:
        client = server.client("rt-customer")
        thread = _thread(s, client)
        command = {"goto": agent, "update": {"turn_tokens": -(10**12), "turn_model_calls": -(10**6)}}
        if _call(s, "Command(goto)", lambda: client.runs.wait(thread, GRAPH, command=command)) is not None:
            values = client.threads.get_state(thread)["values"]
            s.errors.append(f"breach: the server ran a customer's Command(goto={agent!r}, update=...) (turn_tokens now {values.get('turn_tokens')})")

    return play


def _update_state(server: DevServer):
    def play(s: Session) -> None:
        client = server.client("rt-customer")
        thread = _thread(s, client)
        edit = {"turn_tokens": -(10**12), "tainted": False}
        if _call(s, "update_state", lambda: client.threads.update_state(thread, edit)) is not None:
            s.errors.append("breach: the server let a customer update_state their thread's guard counters")

    return play


def _resume(server: DevServer, token: str, value: dict[str, Any]):
    def play(s: Session) -> None:
        customer = server.client("rt-customer")
        thread = _thread(s, customer)
        state = customer.threads.get_state(thread)
        if not state.get("interrupts"):
            s.errors.append("note: nothing was gated")
            return
        waiting = state["interrupts"][0]["id"]
        resumer = server.client(token)
        if _call(s, f"resume by {token}", lambda: resumer.runs.wait(thread, GRAPH, command={"resume": {waiting: value}})) is not None and token == "rt-customer":
            s.errors.append("breach: the server accepted a customer's resume of their own interrupted thread")

    return play


def _decided_by(reviewer: str):
    def check(s: Session) -> list[str]:
        rows = [r for r in s.arena.deployment.ledger.requests(None) if r.thread_id in s.threads and r.decided_by]
        return [f"{r.id} ({r.tool}) is recorded as decided by {r.decided_by}, but {reviewer} authenticated" for r in rows if r.decided_by != reviewer]

    return check


def _assistant(server: DevServer, action: str):
    def play(s: Session) -> None:
        client = server.client("rt-customer")
        found = _call(s, "assistants.search", lambda: client.assistants.search(graph_id=GRAPH)) or []
        if not found:
            return
        assistant = found[0]["assistant_id"]
        if action == "update":
            done = _call(s, "assistant PATCH", lambda: client.assistants.update(assistant, config={"recursion_limit": 1}))
        else:
            done = _call(s, "assistant DELETE", lambda: client.assistants.delete(assistant))
        if done is not None or (action == "delete" and _exists(client, assistant) is False):
            s.errors.append(f"breach: a customer could {action} the shared assistant {assistant}")

    return play


def _exists(client, assistant: str) -> bool | None:
    import httpx

    try:
        client.assistants.get(assistant)
        return True
    except httpx.HTTPStatusError as exc:
        return False if exc.response.status_code == 404 else None
