"""Plan-and-execute: a typed plan, one checkpointed step per superstep, re-planning on failure."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from proctor.context import RunContext
from proctor.graphs.classifier import FastClassifier, split_parts
from proctor.graphs.front_door import latest_request
from proctor.guards.meter import BudgetSpent, Meter, Stop, stop_text
from proctor.guards.settings import GuardSettings
from proctor.guards.state import TurnGuards, carried, emit, run_marker
from proctor.model_failures import model_failure
from proctor.offline import LABEL, Responder, asked_for

MAX_REPLANS = 2
_IDS = re.compile(r"\b[A-Z]{2,4}-\d{3,}\b|\b\d{4,6}\b|[\w.+-]+@[\w-]+\.[\w.]+")


class PlanStep(BaseModel):
    agent: str = Field(description="The specialist that performs this step.")
    instruction: str = Field(description="What to do, self-contained: include every id it needs.")


class Plan(BaseModel):
    """An ordered list of steps that together fulfil the customer's request."""

    steps: list[PlanStep] = Field(min_length=1, max_length=8)


class StepResult(BaseModel):
    agent: str
    instruction: str
    answer: str
    ok: bool


class PlanState(MessagesState, TurnGuards):
    plan: list[PlanStep]
    step_index: int
    step_results: Annotated[list[StepResult], operator.add]
    replans: int
    stopped: Stop | Literal[""]
    """Why the run's budget ended the plan early ('' when it did not)."""


def offline_plan(messages: Sequence[BaseMessage], classifier: FastClassifier) -> dict[str, Any]:
    """The deterministic planner: one step per independent clause, routed by the desk's classifier."""
    request = asked_for(latest_request(messages))  # quoted or injected text is not to be planned
    failed = [m.content for m in messages if isinstance(m, SystemMessage) and "FAILED" in str(m.content)]
    ids = _IDS.findall(request)
    steps = []
    for part in split_parts(request):
        missing = [i for i in ids if i not in part]
        instruction = part + (f" (about {', '.join(missing)})" if missing else "")
        if not any(instruction in str(f) for f in failed):
            steps.append({"agent": classifier.classify(part).route, "instruction": instruction})
    # Nothing left to split: the whole request goes where the front door would send it alone.
    return {"steps": steps or [{"agent": classifier.classify(request).route, "instruction": request}]}


def offline_planner(classifier: Callable[[], FastClassifier]) -> Responder:
    """The offline model's responder for ``Plan``; ``classifier`` is called when a plan is needed,
    so building a model trains nothing."""
    return lambda messages: offline_plan(messages, classifier())


def build_plan_execute(
    model: BaseChatModel,
    agents: Mapping[str, Any],
    *,
    planner: Responder,
    meter: Meter | None = None,
    fallback: BaseChatModel | None = None,
) -> CompiledStateGraph[PlanState, RunContext, PlanState, PlanState]:
    """The subgraph; ``agents`` are compiled specialists without the hand-off tool. The planner's
    and re-planner's calls are admitted and charged by ``meter``, the run's budget; ``planner`` is
    the deterministic one (``offline_planner``) it falls back on."""
    meter = meter or Meter(GuardSettings(), {})
    menu = "\n".join(f"- {name}" for name in agents)

    def ask_planner(state: PlanState, config: RunnableConfig, messages: list[BaseMessage]) -> tuple[list[PlanStep], dict[str, Any]]:
        """The model's plan, charged to the run's budget; when it fails or plans nothing doable, the
        deterministic planner's."""
        charged: dict[str, Any] = {}
        try:
            parsed, charged = meter.structured(
                model, Plan, messages, state, run_marker(config), fallback=fallback, caller="planner"
            )
            steps = _valid(parsed.steps if isinstance(parsed, Plan) else [], agents)
            why = None if steps else "the plan named no known agent"
        except BudgetSpent as spent:
            return [], {"stopped": spent.reason}
        except Exception as exc:  # noqa: BLE001 - any planner failure degrades to the rule planner
            steps, why = [], f"planner failed ({model_failure(exc)})"
        if why is None:
            return steps, charged
        emit("planner_fallback", reason=why)
        return _valid([PlanStep.model_validate(s) for s in planner(messages)["steps"]], agents), charged

    def plan(state: PlanState, config: RunnableConfig) -> dict[str, Any]:
        request = latest_request(state["messages"])
        prompt = SystemMessage(f"Split the request into steps, each for one of these agents:\n{menu}")
        steps, charged = ask_planner(state, config, [prompt, HumanMessage(request)])
        return {"plan": steps, "step_index": 0, "replans": 0, "step_results": [], "stopped": "", **charged}

    def execute(state: PlanState, config: RunnableConfig) -> dict[str, Any]:
        over = meter.over(state, run_marker(config))
        if over in ("step", "time"):  # the run is out of steps or time: the rest is not attempted
            return {"stopped": over, "step_index": len(state["plan"])}
        step = state["plan"][state["step_index"]]
        # Earlier results are context for the model, not part of the instruction it acts on.
        context = [SystemMessage(f"Earlier step: {r.answer}") for r in state["step_results"] if r.ok]
        out = agents[step.agent].invoke(
            {"messages": [*context, HumanMessage(step.instruction)], **carried(state)}, config
        )
        turn = out["messages"]
        failed = any(isinstance(m, ToolMessage) and m.status == "error" for m in turn)
        answer = next((m.text for m in reversed(turn) if isinstance(m, AIMessage) and m.text), "")
        result = StepResult(agent=step.agent, instruction=step.instruction, answer=answer, ok=not failed)
        return {"step_results": [result], "step_index": state["step_index"] + 1, **carried(out)}

    def replan(state: PlanState, config: RunnableConfig) -> dict[str, Any]:
        request = latest_request(state["messages"])
        done = [r for r in state["step_results"]]
        notes = [
            SystemMessage(f"Step {'done' if r.ok else 'FAILED'}: {r.instruction} -> {r.answer}") for r in done
        ]
        prompt = SystemMessage(f"Some steps failed. Plan only the remaining work, for these agents:\n{menu}")
        revised, charged = ask_planner(state, config, [prompt, *notes, HumanMessage(request)])
        finished = {r.instruction for r in done}
        remaining = [s for s in revised if s.instruction not in finished]
        return {"plan": state["plan"][: state["step_index"]] + remaining, "replans": state["replans"] + 1, **charged}

    def report(state: PlanState) -> dict[str, Any]:
        lines = [f"{i}. [{r.agent}] {_strip_label(r.answer)}" for i, r in enumerate(state["step_results"], 1)]
        stopped = state.get("stopped")
        if stopped:
            done = f" after {len(lines)} step(s):\n" + "\n".join(lines) if lines else "."
            return {"messages": [AIMessage(stop_text(stopped) + done)]}
        if not lines:
            return {"messages": [AIMessage("I could not break this request into steps I can do; please rephrase it.")]}
        label = f"{LABEL} " if any(r.answer.startswith(LABEL) for r in state["step_results"]) else ""
        return {"messages": [AIMessage(f"{label}I handled your request in {len(lines)} steps:\n" + "\n".join(lines))]}

    def after_step(state: PlanState) -> str:
        if state.get("stopped"):
            return "report"
        last = state["step_results"][-1]
        if not last.ok and state["replans"] < MAX_REPLANS and state["step_index"] < len(state["plan"]):
            return "replan"
        return "execute" if state["step_index"] < len(state["plan"]) else "report"

    graph = StateGraph(PlanState, context_schema=RunContext)
    graph.add_node("plan", plan)
    graph.add_node("execute", execute)
    graph.add_node("replan", replan)
    graph.add_node("report", report)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", lambda s: "execute" if s["plan"] else "report", ["execute", "report"])
    graph.add_conditional_edges("execute", after_step, ["execute", "replan", "report"])
    graph.add_conditional_edges("replan", lambda s: "execute" if s["step_index"] < len(s["plan"]) else "report")
    graph.add_edge("report", END)
    return graph.compile(name="plan_execute")


def _valid(steps: list[PlanStep], agents: Mapping[str, Any]) -> list[PlanStep]:
    """Steps for agents that do not exist are dropped rather than guessed at."""
    return [s for s in steps if s.agent in agents]


def _strip_label(text: str) -> str:
    return text.removeprefix(LABEL).strip()
