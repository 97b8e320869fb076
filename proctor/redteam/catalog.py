"""Every attack family `proctor redteam` runs, in order (``--family NAME`` picks some)."""

from __future__ import annotations

from proctor.redteam import client as k
from proctor.redteam import crash as c
from proctor.redteam import families as f
from proctor.redteam import injected as i
from proctor.redteam.runner import Family

FAMILIES = [
    Family("direct", "sensitive calls made outright", f.direct),
    Family("id-reuse", "a sensitive call under the id of a failed, autonomous or approved one", f.id_reuse),
    Family("split", "amounts split under the limit: in one reply, across turns, across plan steps", f.split),
    Family("injection", "instructions planted in every untrusted source, obeyed", i.injection),
    Family("handoff", "untrusted content read, then a hand-off to the planner", i.handoff),
    Family("ownership", "every tool aimed at another customer's records", f.ownership),
    Family("scope", "calls of tools the agent does not hold", f.scope),
    Family("state-edit", "the pending call's arguments edited in the checkpoint after approval", f.state_edit),
    Family("loops", "repeated calls and huge or negative usage figures", f.loops),
    Family("malformed", "malformed model output and HTTP errors", f.malformed),
    Family("clients", "hostile clients of the dev server: goto/update, update_state, resumes, assistants", k.clients, needs="server"),
    Family("kill-9", "the resuming process killed with SIGKILL around an approved call; resumed; retried", c.crash),
]


def by_name(names: list[str] | None) -> list[Family]:
    if not names:
        return FAMILIES
    known = {family.name: family for family in FAMILIES}
    unknown = [n for n in names if n not in known]
    if unknown:
        from proctor.errors import ProctorError

        raise ProctorError(f"unknown attack famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
