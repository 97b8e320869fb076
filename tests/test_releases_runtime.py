"""Releases at run time: new threads take the active release, threads keep theirs, canaries split stably."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.messages import BaseMessage, SystemMessage

import proctor.deployment
from proctor.approvals.inbox import Inbox
from proctor.approvals.ledger import Decision
from proctor.offline import OfflineChatModel
from proctor.releases.bundle import snapshot
from proctor.runner import Proctor

NEW_PROMPT = "You are the billing specialist, release two."


class PromptSpy(OfflineChatModel):
    """The offline model, remembering the system prompt of every call."""

    prompts: ClassVar[list[str]] = []

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any):
        PromptSpy.prompts.extend(m.text for m in messages if isinstance(m, SystemMessage))
        return super()._generate(messages, *args, **kwargs)


@pytest.fixture
def desk(settings, monkeypatch) -> Proctor:
    PromptSpy.prompts.clear()
    monkeypatch.setattr(proctor.deployment, "chat_model", lambda settings, name=None, **offline: PromptSpy(**offline))
    return Proctor(settings)


def billing_run(desk: Proctor, invoice: str, user: str):
    PromptSpy.prompts.clear()
    result = desk.run(f"I was charged twice for invoice {invoice}, please refund the duplicate", user_id=user)
    return result, list(PromptSpy.prompts)


def with_billing_prompt(content, prompt: str):
    agents = [a.model_copy(update={"prompt": prompt}) if a.name == "billing" else a for a in content.agents]
    return content.model_copy(update={"agents": agents})


def test_activate_and_rollback_switch_new_runs_while_an_interrupted_thread_keeps_its_release(desk, settings):
    store = desk.releases
    v1, _ = store.create(snapshot(settings), "alice", "baseline")
    store.activate(v1.id)
    waiting, _ = billing_run(desk, "INV-10269", "CUS-0051")  # above the threshold: waits for a human
    assert waiting.status == "interrupted" and waiting.release == v1.id

    v2, _ = store.create(with_billing_prompt(v1.content, NEW_PROMPT), "bob", "reword billing")
    assert v2.parent == v1.id and "release two" in store.diff(v1.id, v2.id)
    store.activate(v2.id)
    on_v2, prompts = billing_run(desk, "INV-10062", "CUS-0012")
    assert on_v2.release == v2.id and any(NEW_PROMPT in p for p in prompts)

    store.rollback()
    on_v1, prompts = billing_run(desk, "INV-10062", "CUS-0012")
    assert on_v1.release == v1.id and prompts and not any(NEW_PROMPT in p for p in prompts)

    store.activate(v2.id)  # whatever is active now, the old thread finishes on v1
    PromptSpy.prompts.clear()
    request_id = waiting.interrupts[0]["request"]["id"]
    done = Inbox(desk).decide(request_id, Decision(type="approve", reviewer="alice"))
    assert done.status == "done" and done.release == v1.id
    assert PromptSpy.prompts and not any(NEW_PROMPT in p for p in PromptSpy.prompts)


def test_a_five_percent_canary_is_stable_per_user(desk, settings):
    store = desk.releases
    v1, _ = store.create(snapshot(settings), "alice", "baseline")
    store.activate(v1.id)
    v2, _ = store.create(with_billing_prompt(v1.content, NEW_PROMPT), "bob", "candidate")
    store.canary(v2.id, 5)
    users = [f"user-{i}" for i in range(10_000)]
    first = [store.choose(u) for u in users]
    assert first == [store.choose(u) for u in users]
    share = first.count(v2.id) / len(users)
    assert 0.045 <= share <= 0.055

    canary_user = users[first.index(v2.id)]
    result, prompts = billing_run(desk, "INV-10062", canary_user)
    assert result.release == v2.id and any(NEW_PROMPT in p for p in prompts)


def test_promote_requires_a_passing_eval_of_that_release(settings, tmp_path, monkeypatch, capsys):
    from proctor.cli import main

    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    golden = tmp_path / "small.jsonl"  # a few golden tasks keep the test fast; the gate is the same
    lines = (Path(proctor.deployment.__file__).parents[1] / "evals/golden/v2.jsonl").read_text().splitlines()
    golden.write_text("\n".join(lines[:4]) + "\n")
    store = Proctor(settings).releases
    v1, _ = store.create(snapshot(settings), "alice", "baseline")
    store.activate(v1.id)
    v2, _ = store.create(with_billing_prompt(v1.content, NEW_PROMPT), "bob", "candidate")
    assert main(["release", "canary", v2.id, "--percent", "5"]) == 0
    assert main(["release", "promote"]) == 2  # no eval report for v2 yet
    assert "eval" in capsys.readouterr().err
    assert main(["eval", "--release", v2.id, "--golden", str(golden), "--split", "all", "--concurrency", "1"]) == 0
    assert main(["release", "promote"]) == 2  # nothing to compare with: the active release has no report
    assert f"no eval report of the active release {v1.id} on the all split" in capsys.readouterr().err
    assert main(["eval", "--release", v1.id, "--golden", str(golden), "--split", "all", "--concurrency", "1"]) == 0
    assert main(["release", "promote"]) == 0  # no worse than the active release on the same tasks
    assert store.active().id == v2.id
