"""``proctor demo``: a scripted tour of the desk, on real ids of its seeded data.

The desk's ``demo.toml`` holds the tour: ``requests`` with ``{placeholders}``, an ``ids`` query whose
one row fills them, and ``user``, the column whose value the tour runs as (so it acts on records that
are that requester's own).
"""

from __future__ import annotations

import json
import tomllib

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proctor.desk import Desk, DeskError
from proctor.runner import Proctor, RunResult
from proctor.settings import Settings


class Tour(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: str = Field(description="SQL returning one row; its columns fill the requests' {placeholders}.")
    user: str = Field(description="The column of that row whose value the tour runs as.")
    requests: list[str] = Field(min_length=1)


def load_tour(desk: Desk) -> Tour:
    path = desk.require("demo")
    try:
        return Tour.model_validate(tomllib.loads(path.read_text()))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise DeskError(f"{path}: not a demo tour: {exc}") from None


def tour() -> None:
    desk = Proctor(Settings())
    plan = load_tour(desk.deployment.desk)
    ids = demo_ids(desk, plan)
    print(f"proctor demo: desk {desk.deployment.desk.name!r}, model {desk.settings.model!r}, data in {desk.settings.data_dir}/\n")
    for template in plan.requests:
        text = template.format(**ids)
        print(f"> {text}")
        print(render(desk.run(text, user_id=ids[plan.user])), end="\n\n")


def demo_ids(desk: Proctor, plan: Tour | None = None) -> dict[str, str]:
    """The tour's ids: the one row of its query over the desk's seeded data."""
    plan = plan or load_tour(desk.deployment.desk)
    rows = desk.deployment.db.query(plan.ids)
    if not rows:
        raise DeskError(f"desk {desk.deployment.desk.name!r}: the demo's ids query found no row in its data")
    ids = {key: str(value) for key, value in dict(rows[0]).items()}
    if plan.user not in ids:
        raise DeskError(f"desk {desk.deployment.desk.name!r}: the demo's ids query has no column {plan.user!r}")
    return ids


def render(result: RunResult) -> str:
    lines = [f"  route: {result.route}   status: {result.status}   model: {result.model}"]
    for call in result.tool_calls:
        mark = "ok" if call.ok else f"FAILED: {call.error}"
        lines.append(f"  tool: {call.name}({json.dumps(call.args)}) -> {mark}")
    lines.append(f"  answer: {result.answer}")
    lines.append(
        f"  trace: {result.trace_id}   thread: {result.thread_id}   "
        f"tokens: {result.usage.input_tokens}+{result.usage.output_tokens}   cost: ${result.usage.cost_usd:.4f}"
    )
    return "\n".join(lines)
