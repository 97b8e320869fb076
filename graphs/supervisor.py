"""The supervisor: front door -> specialist | plan-and-execute | human escalation | clarifying question.

Each route's node books the turn's cost as it ends (``settled``), in its own step: no step of its
own for the bookkeeping, so no checkpoint of its own either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware
from langchain.tools import ToolRuntime
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime
from langgraph.types import Command
from pydantic import BaseModel

from proctor.approvals.gate import ApprovalGate
from proctor.checkpoints import open_checkpointer
from proctor.context import RunContext, run_context
from proctor.deployment import Deployment
from proctor.errors import InvalidRequest
from proctor.graphs.classifier import ESCALATE
from proctor.graphs.front_door import CLARIFY, PLAN, FrontDoor, check_request, latest_request
from proctor.graphs.plan_execute import build_plan_execute, offline_planner
from proctor.guards.injection import scan
from proctor.guards.meter import BudgetSpent, Meter
from proctor.guards.stack import fallback_model, guardrails, input_guards
from proctor.guards.state import TurnGuards, carried, changes, emit, fresh_turn, run_marker, written
from proctor.guards.usage import RateLimited
from proctor.escalations import escalate
from proctor.chat_models import router_model
from proctor.ownership import OwnershipGuard
from proctor.settings import Settings
from proctor.specialists import AgentSpec, build_specialist
from proctor.text_tool_calls import TextToolCalls
from proctor.tracing.graph import GraphTracing, TracedGraph
from proctor.tracing.settings import TraceSettings

CLARIFY_TEXT = (
    "I want to get this right: could you tell me a bit more? For example the number of the record "
    "it is about, or what you were trying to do when it went wrong."
)


class SupervisorInput(MessagesState):
    """What a caller may send: the request. Guard counters, taint and the route are the graph's own."""


class SupervisorState(MessagesState, TurnGuards):
    route: str
    route_tier: str
    route_confidence: float
    route_reason: str


@tool
def hand_off_to_planner(reason: str, runtime: ToolRuntime[RunContext]) -> Command | ToolMessage:
    """Hand the whole request to the planner when it needs several actions across teams
    (e.g. cancel an order, refund its shipping fee and email a confirmation). Give a short reason.
    Do not use it for a single action you can do yourself."""
    call = runtime.state["messages"][-1]
    if len(getattr(call, "tool_calls", None) or []) > 1:
        # The planner must see what this agent saw: results of calls made beside the hand-off
        # (and the taint they bring) would be lost with this agent's state.
        return ToolMessage(
            "Error from hand_off_to_planner: hand off in a reply of its own, with no other tool call.",
            tool_call_id=runtime.tool_call_id,
            name="hand_off_to_planner",
            status="error",
        )
    note = ToolMessage(f"Handed to the planner: {reason}", tool_call_id=runtime.tool_call_id)
    # Taint, step counts and spend are the run's: the planner continues them, never resets them.
    return Command(graph=Command.PARENT, goto=PLAN, update={"messages": [call, note], **carried(runtime.state)})


# Every agent may hand off: it needs no scope. Tools without declared scopes are never granted.
hand_off_to_planner.metadata = {"scopes": [], "effect": "handoff"}


def build_graph(
    settings: Settings | None = None,
    *,
    checkpointer: BaseCheckpointSaver | None | bool = None,
    deployment: Deployment | None = None,
    extra_middleware: Sequence[AgentMiddleware] = (),
    tracing: TraceSettings | Literal[False] | None = None,
) -> TracedGraph | CompiledStateGraph[SupervisorState, RunContext, SupervisorInput, SupervisorState]:
    """The compiled supervisor, tracing every run itself (``proctor.tracing.graph``), however it is
    invoked. ``checkpointer=None`` opens the configured one; ``False`` uses none (the LangGraph
    server brings its own). ``extra_middleware`` goes outermost in every specialist (a replay
    serves tool calls from a recording with it). ``tracing``: None reads ``TraceSettings`` from the
    environment; ``False`` builds an untraced graph (what benchmarks compare tracing against)."""
    deployment = deployment or Deployment(settings or Settings())
    settings = deployment.settings
    writes = [spec.name for spec in deployment.tool_specs if spec.effect == "write"]
    text_calls = [TextToolCalls()] if settings.model_text_tool_calls else []
    ownership = OwnershipGuard(deployment.db, deployment.tool_specs)  # before the gate: no preview of others' records

    guarded_input = input_guards(deployment)

    def specialist(spec: AgentSpec, tools: Sequence[BaseTool]) -> CompiledStateGraph[Any, RunContext, Any, Any]:
        gate = ApprovalGate(deployment.ledger, spec.name, writes)
        # The desk's guards sit before the gate: what they change or refuse, the gate judges as final.
        own = deployment.desk_guards(spec)
        middleware = [*extra_middleware, *guarded_input, ownership, *own, gate, *guardrails(deployment, spec), *text_calls]
        return build_specialist(spec, deployment.model_for(spec), tools, middleware=middleware)

    specialists = {spec.name: specialist(spec, [*deployment.tools, hand_off_to_planner]) for spec in deployment.specs}
    plan_agents = {spec.name: specialist(spec, deployment.tools) for spec in deployment.specs}
    routes = {spec.name: spec.description for spec in deployment.specs}
    routes[ESCALATE] = "Legal, medical, safety or threatening matters: a human must take over."
    routes[CLARIFY] = "Too vague to act on: ask a clarifying question."
    front = FrontDoor(routes, classifier=deployment.classifier, llm=router_model(settings), threshold=settings.classifier_threshold)
    meter = Meter(settings.guards, settings.prices)

    def front_door(state: SupervisorState, config: RunnableConfig, runtime: Runtime[RunContext]) -> Command:
        text = latest_request(state["messages"])
        context = run_context(runtime, config)
        if superseded := deployment.ledger.supersede(context.thread_id):  # a new message: the interrupted run is gone
            emit("approvals_superseded", requests=superseded)
        try:
            check_request(text, settings.max_request_chars)
            deployment.usage.admit(context.requester)
        except (InvalidRequest, RateLimited) as exc:
            emit("request_refused", reason=str(exc))
            return Command(goto=END, update={"route": "rejected", "messages": [AIMessage(f"Sorry: {exc}.")]})
        turn = fresh_turn(run_marker(config), request=text)
        charged: dict[str, Any] = {}

        def ask(schema: type[BaseModel], messages: list[BaseMessage]) -> BaseModel | None:  # the LLM tier's call is the run's first
            assert front.llm is not None  # the front door asks only with an LLM configured
            try:
                parsed, update = meter.structured(front.llm, schema, messages, turn, turn["turn_run"], fallback=None, caller="router")
            except BudgetSpent:
                return None
            charged.update(update)
            return parsed

        decision = front.decide(text, ask=ask)
        update = changes(state, {
            "route": decision.route,
            "route_tier": decision.tier,
            "route_confidence": decision.confidence,
            "route_reason": decision.reason,
            **turn,
            **charged,
        })  # fmt: skip
        flagged = settings.guards.scan_requests and _injected(text)
        if flagged:
            update.update(tainted=True, taint_sources=list(flagged))
        return Command(goto=decision.route, update=update)

    def finish(state: Mapping[str, Any], config: RunnableConfig, runtime: Runtime[RunContext]) -> None:
        """Book the turn's cost as its route ends; a run far above its route's median cost raises an alert."""
        context = run_context(runtime, config)
        alert = deployment.usage.settle(
            requester=context.requester,
            route=state.get("route", "unknown"),
            usd=state.get("turn_cost_usd", 0.0),
            thread_id=context.thread_id,
            trace_id=config.get("metadata", {}).get("trace_id"),
        )
        if alert is not None:
            emit("cost_anomaly", detail=alert.detail)

    def human_escalation(state: SupervisorState, config: RunnableConfig, runtime: Runtime[RunContext]) -> dict[str, Any]:
        context = run_context(runtime, config)
        escalation_id = escalate(
            deployment.db,
            thread_id=context.thread_id,
            user_id=context.requester.id,
            reason=state.get("route_reason") or "needs a human",
            request=latest_request(state["messages"]),
        )
        text = (
            f"This needs a person, so I have passed it to a human colleague (reference {escalation_id}). "
            "They will contact you directly; I will not act on it myself."
        )
        finish(state, config, runtime)
        return {"messages": [AIMessage(text)]}

    def clarify(state: SupervisorState, config: RunnableConfig, runtime: Runtime[RunContext]) -> dict[str, Any]:
        finish(state, config, runtime)
        return {"messages": [AIMessage(CLARIFY_TEXT)]}

    graph = StateGraph(SupervisorState, context_schema=RunContext, input_schema=SupervisorInput)
    # Nodes taking both config and runtime: langgraph passes each by name, but its StateNode
    # protocols name no (state, config, runtime) form, hence the ignores below (mypy reports it as
    # arg-type on a fresh run, as call-overload on some incremental ones).
    graph.add_node("front_door", front_door, destinations=(*routes, PLAN, END))  # type: ignore[arg-type, call-overload]
    for name, agent in specialists.items():
        graph.add_node(name, settled(agent, finish), destinations=(PLAN, END))
        graph.add_edge(name, END)
    planner = offline_planner(lambda: deployment.classifier)
    plan = build_plan_execute(deployment.model, plan_agents, planner=planner, meter=meter, fallback=fallback_model(deployment))
    graph.add_node(PLAN, settled(plan, finish))
    graph.add_node(ESCALATE, human_escalation)  # type: ignore[arg-type, call-overload]
    graph.add_node(CLARIFY, clarify)  # type: ignore[arg-type, call-overload]
    graph.add_edge(START, "front_door")
    for name in (PLAN, ESCALATE, CLARIFY):
        graph.add_edge(name, END)
    if checkpointer is None:
        checkpointer = open_checkpointer(settings.checkpoints_url)
    compiled = graph.compile(checkpointer=checkpointer or None, name="proctor")
    if tracing is False:
        return compiled
    trace = tracing or TraceSettings()
    if deployment.release_id:  # traces name the release that ran
        trace = trace.model_copy(update={"release": deployment.release_id})
    return TracedGraph.of(compiled, GraphTracing(settings, trace, deployment.release_id))


def settled(agent: Runnable, finish: Callable[[Mapping[str, Any], RunnableConfig, Any], None]) -> Runnable:
    """``agent`` (a subgraph) as a node that books the turn once the agent has ended: not when it
    stops at an interrupt (its resume runs the node again) nor when it hands off to the planner
    (both raise out of ``invoke``). The agent gets the state without the guard keys that read the same
    unwritten, and the node writes back only what the agent changed: fewer checkpoint writes."""

    def run(state: dict[str, Any], config: RunnableConfig) -> Any:
        out = agent.invoke(written(state), config)
        finish({**state, **out}, config, get_runtime())
        return changes(state, out)

    async def arun(state: dict[str, Any], config: RunnableConfig) -> Any:
        out = await agent.ainvoke(written(state), config)
        runtime = get_runtime()
        await asyncio.to_thread(finish, {**state, **out}, config, runtime)  # a database write: off the event loop
        return changes(state, out)

    return _Passthrough(run, arun, agent.get_name())


class _Passthrough(RunnableLambda):
    """A node function with sync and async forms that makes no run of its own: the agent's run is
    the node's child, as when the agent is the node itself, so traces keep their shape. (A
    ``RunnableLambda`` so that LangGraph still finds the agent in it: ``get_state(subgraphs=True)``.)"""

    def __init__(self, run: Callable[[Any, RunnableConfig], Any], arun: Callable[[Any, RunnableConfig], Awaitable[Any]],
                 name: str) -> None:  # fmt: skip
        super().__init__(run, afunc=arun, name=name)
        self.node, self.anode = run, arun

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self.node(input, config or {})

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self.anode(input, config or {})


def _injected(text: str) -> list[str]:
    """Why the request taints the run: empty when the scanner does not flag it."""
    verdict = scan(text)
    if not verdict.flagged:
        return []
    emit("injection_flagged", source="request", score=verdict.score, reasons=verdict.reasons, span=verdict.span)
    return [f"the request was flagged by the injection scanner (score {verdict.score:.2f}): {'; '.join(verdict.reasons[:2])}"]
