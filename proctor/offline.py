"""The offline deterministic chat model: real tool calls, no LLM, no network.

It is what answers when no endpoint is configured, and the deterministic fallback when a
budget runs out. It never pretends to be an LLM: every message it writes starts with
``(offline model)`` and carries ``model_name="proctor-offline"`` in its metadata.

How it decides, per turn (the messages since the last human message):
1. If a tool is forced (structured output), fill that tool's arguments.
2. Otherwise call the next bound tool whose intent phrases (``hints``: the desk's offline file,
   tool name -> phrases) match the request and whose
   required arguments it can fill, reads before writes, each tool once per turn.
   Arguments come from the request text (id patterns, enums, money, free text) or from
   the results of earlier tool calls in the turn, matched by key name.
3. When a tool failed or nothing is left to call, answer from the tools' ``summary`` fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from proctor.guards.delimiters import unwrap
from proctor.guards.injection import scan

MODEL_NAME = "proctor-offline"
LABEL = "(offline model)"

Responder = Callable[[Sequence[BaseMessage]], dict[str, Any]]
"""Fills a structured output the model cannot fill field by field (e.g. a plan), by schema name."""

_QUOTED = re.compile(
    r"""(?:^|(?<=[\s:(]))(?:'[^']{6,}'|"[^"]{6,}")(?=[\s.,;:!?)]|$)|“[^”]+”|‘[^’]+’|\[[^\]]+\]"""
    r"|<!--.*?-->|<<.*?>>|\{\{.*?\}\}",
    re.S,
)
_MONEY = re.compile(r"\$\s?(\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s?(?:usd|dollars)\b", re.I)


class OfflineChatModel(BaseChatModel):
    """A deterministic ``BaseChatModel`` that reads the conversation and emits tool calls."""

    model_name: str = MODEL_NAME
    hints: dict[str, list[str]] = Field(default_factory=dict, description="Tool name -> intent phrases.")
    responders: dict[str, Responder] = Field(default_factory=dict, exclude=True)

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[_tool_card(t, self.hints) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = decide(messages, tools or [], tool_choice, self.responders)
        message.usage_metadata = _usage(messages, tools or [], message)
        message.response_metadata = {"model_name": MODEL_NAME, "offline": True}
        return ChatResult(generations=[ChatGeneration(message=message)])


def decide(
    messages: Sequence[BaseMessage],
    tools: list[dict[str, Any]],
    tool_choice: str | None,
    responders: Mapping[str, Responder] | None = None,
) -> AIMessage:
    forced = _forced(tools, tool_choice)
    if forced is not None:
        responder = (responders or {}).get(forced["name"])
        args = responder(messages) if responder else fill_args(forced, _request(messages), [])
        return _call(messages, forced["name"], args or {})
    turn = _current_turn(messages)
    request = _request(messages)
    results, failures, called = _outcomes(turn)
    if not failures:
        ordered = sorted(tools, key=lambda c: c["effect"] == "write")
        for card in ordered:
            if card["name"] in called or not _wanted(card, request):
                continue
            args = fill_args(card, request, results)
            if args is not None:
                return _call(messages, card["name"], args)
        if not called:  # nothing asked for by name: look something up rather than guess
            for card in (c for c in ordered if c["effect"] == "read"):
                args = fill_args(card, asked_for(request), [])
                if args:
                    return _call(messages, card["name"], args)
    return AIMessage(content=_answer(results, failures))


def fill_args(card: dict[str, Any], request: str, results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Arguments for a tool from the request and earlier results; None if a required one is missing."""
    params = card["parameters"]
    required = set(params.get("required", []))
    args: dict[str, Any] = {}
    for name, prop in params.get("properties", {}).items():
        value = _extract(name, prop, name in required, request, results)
        if value is not None:
            args[name] = value
        elif name in required:
            return None
    if params.get("properties") and not args:
        return None  # nothing to go on: a call with no arguments would only fail
    return args


def _extract(name: str, prop: dict[str, Any], required: bool, request: str, results: list[dict[str, Any]]) -> Any:
    prop = _plain(prop)
    # Optional arguments come from the request only: a stray id from a result could
    # break "exactly one of" rules (e.g. customer_id or email).
    from_results = _from_results(name, results) if required else None
    if "enum" in prop:
        mentioned = [v for v in prop["enum"] if re.search(rf"\b{re.escape(str(v))}\b", request, re.I)]
        return mentioned[0] if mentioned else from_results
    if "pattern" in prop:
        return _find(prop["pattern"], name, request) or from_results
    kind = prop.get("type")
    if kind in ("number", "integer"):
        money = _MONEY.search(request)  # an amount the user states beats one looked up
        return float(money.group(1) or money.group(2)) if money else from_results
    if kind == "boolean":
        return from_results
    if kind == "string":
        text = from_results if isinstance(from_results, str) else request
        return text[: prop.get("maxLength", len(text))]
    return from_results


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """Unwrap ``Optional[X]`` (anyOf with null) to X's schema."""
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    return {**prop, **options[0]} if len(options) == 1 else prop


def _find(pattern: str, name: str, request: str) -> str | None:
    """The pattern's match in the text, preferring one right after a word of the field name."""
    # Whole tokens only: the digits inside INV-10001 are not an order number.
    matches = list(re.finditer(rf"(?<![\w-])(?:{pattern.strip('^$')})(?![\w-])", request))
    if not matches:
        return None
    hint = name.split("_")[0].lower()
    for m in matches:
        if hint in request[max(0, m.start() - 24) : m.start()].lower():
            return m.group(0)
    return matches[0].group(0)


def _from_results(name: str, results: list[dict[str, Any]]) -> Any:
    for result in reversed(results):
        if name in result and result[name] is not None:
            return result[name]
    return None


def _wanted(card: dict[str, Any], request: str) -> bool:
    text = asked_for(request).lower()
    return any(intent in text for intent in card["intents"])


def asked_for(request: str) -> str:
    """What the user asks for: quoted, bracketed or commented text is data the user shows us, and so
    is any sentence that reads like an injected instruction."""
    plain = _QUOTED.sub(" ", request)
    return " ".join(s for s in re.split(r"(?<=[.!?])\s+|\n+", plain) if not scan(s).flagged)


def _current_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return list(messages[i + 1 :])
    return list(messages)


def _request(messages: Sequence[BaseMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return m.text if hasattr(m, "text") and isinstance(m.text, str) else str(m.content)
    return ""


def _outcomes(turn: list[BaseMessage]) -> tuple[list[dict[str, Any]], list[str], set[str]]:
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    called: set[str] = set()
    for m in turn:
        if isinstance(m, AIMessage):
            called.update(tc["name"] for tc in m.tool_calls)
        elif isinstance(m, ToolMessage):
            content = unwrap(m.content if isinstance(m.content, str) else json.dumps(m.content))
            if m.status == "error":
                failures.append(content)
                continue
            try:
                parsed = json.loads(content)
            except ValueError:
                parsed = {"summary": content}
            results.append(parsed if isinstance(parsed, dict) else {"summary": str(parsed)})
    return results, failures, called


def _answer(results: list[dict[str, Any]], failures: list[str]) -> str:
    lines = [str(r["summary"]) for r in results if r.get("summary")]
    lines += [f"I could not complete this: {f}" for f in failures]
    if not lines:
        lines = ["I could not find anything I can do for this request with my tools; a human colleague can help."]
    return f"{LABEL} " + " ".join(lines)


def _call(messages: Sequence[BaseMessage], name: str, args: dict[str, Any]) -> AIMessage:
    """A tool call whose id is stable for this conversation position (replays match)."""
    seed = json.dumps([_fingerprint(m) for m in messages] + [name, args], sort_keys=True, default=str)
    call_id = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:20]
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def _fingerprint(m: BaseMessage) -> str:
    return f"{m.type}:{m.content if isinstance(m.content, str) else json.dumps(m.content, default=str)}"


def _forced(tools: list[dict[str, Any]], tool_choice: str | None) -> dict[str, Any] | None:
    if not tool_choice or tool_choice == "auto" or not tools:
        return None
    named = [t for t in tools if t["name"] == tool_choice]
    if named:
        return named[0]
    return tools[0] if tool_choice in ("any", "required") and len(tools) == 1 else None


def _tool_card(tool: Any, hints: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the model needs of a tool, as plain data (it is recorded in traces)."""
    spec = convert_to_openai_tool(tool)["function"]
    meta = getattr(tool, "metadata", None) or {}
    return {
        "name": spec["name"],
        "parameters": spec.get("parameters", {}),
        "intents": [i.lower() for i in hints.get(spec["name"], ())],
        "effect": meta.get("effect", "read"),
    }


def _usage(messages: Sequence[BaseMessage], tools: list[dict[str, Any]], reply: AIMessage) -> UsageMetadata:
    """A token estimate (4 characters a token), so budgets and costs work offline too."""
    prompt = sum(len(_fingerprint(m)) for m in messages) + len(json.dumps(tools))
    output = len(_fingerprint(reply)) + len(json.dumps(reply.tool_calls))
    inp, out = prompt // 4 + 1, output // 4 + 1
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}
