"""Tool serving: recorded results back, reads on the copy, never a real write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware
from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt.tool_node import ToolCallRequest

from proctor.deployment import Deployment
from proctor.errors import ToolError
from proctor.replay.matching import CallQueue, call_key
from proctor.toolkit import ToolSpec, dry_run
from proctor.tracing import Span

Source = Literal["recorded", "live read on a copy", "dry run"]


class ToolServing(AgentMiddleware):
    """Outermost in every specialist. It does not answer a call itself: it swaps in a served twin
    of the tool, so the approval gate, the guards, retries, error reporting and the trace's tool
    spans run exactly as in production and only the execution differs. The twin serves

    - a call the original made (same tool and arguments, in recorded order): its recorded result,
      or its recorded failure, for reads and writes alike ("recorded");
    - any other read: the real read, on the replay's copy of the database ("live read on a copy");
    - any other write: ``dry_run`` on the copy, rolled back ("dry run"). Never ``execute_once``.

    Tools outside the desk (the hand-off to the planner) pass through.
    """

    def __init__(self, recorded: Sequence[Span], deployment: Deployment) -> None:
        super().__init__()
        self._specs = {spec.name: spec for spec in deployment.tool_specs}
        self._recorded: CallQueue[Span] = CallQueue()
        for span in recorded:
            self._recorded.put(call_key(span.name, span.inputs.get("args"), self._specs), span)
        self._served: CallQueue[Source] = CallQueue()
        self._twins = {tool.name: self._twin(tool, self._specs[tool.name], deployment) for tool in deployment.tools}

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        return handler(self._swapped(request))

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        return await handler(self._swapped(request))

    def source(self, name: str, args: Any) -> Source | None:
        """How a call of the replay was served; each answer is given once, in call order."""
        return self._served.take(call_key(name, args, self._specs))

    def _swapped(self, request: ToolCallRequest) -> ToolCallRequest:
        twin = self._twins.get(request.tool_call["name"])
        return request if twin is None else request.override(tool=twin)

    def _twin(self, tool: BaseTool, spec: ToolSpec, deployment: Deployment) -> BaseTool:
        """The tool as the model sees it (name, schema, metadata), executed the replay's way. It
        decides per execution, on the arguments that reach it: after an approver's edit, and once
        per retry, like the real tool."""

        def serve(runtime: ToolRuntime, **kwargs: Any) -> Any:
            key = call_key(spec.name, kwargs, self._specs)
            recorded = self._recorded.take(key)
            if recorded is not None:
                self._served.put(key, "recorded")
                return _replayed(recorded)
            if spec.effect == "read":
                self._served.put(key, "live read on a copy")
                live = tool.func if isinstance(tool, StructuredTool) else None
                assert live is not None  # ToolSpec.bind makes each tool a sync StructuredTool
                return live(runtime=runtime, **kwargs)  # the deployment's tools are bound to the copy
            self._served.put(key, "dry run")
            return dry_run(deployment.db, spec, spec.args_schema.model_validate(kwargs))

        return StructuredTool.from_function(
            func=serve,
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            metadata=tool.metadata,
            response_format="content",
        )


def _replayed(span: Span) -> Any:
    if span.status == "error":
        raise _failure(span.error or "")
    return span.outputs.get("result")


def _failure(recorded: str) -> Exception:
    """A recorded failure (``Class: message``) raised again as its class, so a transient one is
    retried and the model reads the same report (``proctor.specialists.report_tool_error``)."""
    name, _, message = recorded.partition(": ")
    known: dict[str, type[Exception]] = {c.__name__: c for c in _subclasses(ToolError)}
    known |= {"ValueError": ValueError, "ValidationError": ValueError}  # reported alike
    return known.get(name, type(name, (Exception,), {}))(message)


def _subclasses(cls: type[Exception]) -> list[type[Exception]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]
