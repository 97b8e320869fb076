"""One trace as HTML: the conversation of its thread, then the span tree with a timing bar per span.

Shared by the dashboard's trace page and the inbox (which shows a request's conversation).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from proctor.tracing.models import Span, Trace

TRACE_CSS = """
.conversation{max-width:60rem}.turn{margin:.4rem 0;padding:.5rem .7rem;border-radius:8px;white-space:pre-wrap}
.turn.human{background:#eff6ff;border:1px solid #bfdbfe;margin-right:6rem}
.turn.ai{background:#fff;border:1px solid #e5e7eb;margin-left:6rem}
.turn.tool{background:#f9fafb;border:1px dashed #d1d5db;margin-left:3rem;font-size:13px}
.turn .who{display:block;font-size:11px;color:#6b7280;margin-bottom:.15rem;white-space:normal}
.tree{list-style:none;padding-left:1.1rem;margin:0;border-left:1px solid #e5e7eb}
.tree.top{border-left:none;padding-left:0}.span{margin:.15rem 0}
.span>.line{display:flex;gap:.5rem;align-items:baseline;flex-wrap:wrap}
.kind{font-size:11px;border-radius:3px;padding:0 .3rem;background:#e5e7eb}
.kind.llm{background:#dbeafe}.kind.tool{background:#dcfce7}.kind.guardrail{background:#fee2e2}
.kind.interrupt{background:#fef3c7}.status-error{color:#b91c1c;font-weight:600}
.status-interrupted{color:#b45309;font-weight:600}
.bar{display:inline-block;width:160px;height:8px;background:#f3f4f6;position:relative;border-radius:2px}
.bar i{position:absolute;top:0;bottom:0;background:#60a5fa;min-width:2px;border-radius:2px}
pre{white-space:pre-wrap;word-break:break-word;background:#f9fafb;border:1px solid #e5e7eb;
padding:.3rem .5rem;margin:.2rem 0;max-height:16rem;overflow:auto;font-size:12px;max-width:60rem}
.facts td,.facts th{text-align:left}
"""


def conversation(turns: list[Trace]) -> str:
    """The thread's runs in order: each request, the tool calls made for it, and the answer."""
    items = []
    for trace in turns:
        if trace.input:
            items.append(_turn("human", f"customer {trace.user_id or ''}".strip(), trace.input))
        for span in trace.spans:
            if span.kind == "tool":
                result = span.error if span.status == "error" else _text(span.outputs.get("result", ""))
                mark = " ✗ failed" if span.status == "error" else ""
                items.append(_turn("tool", f"tool {span.name}{mark}", f"{_text(span.inputs.get('args'))}\n→ {result}"))
            elif span.kind == "interrupt":
                items.append(_turn("tool", "waiting for a human decision", _approval(span.outputs.get("value"))))
        if trace.answer:
            items.append(_turn("ai", f"agent ({trace.route or 'no route'})", trace.answer))
    return '<div class="conversation">' + ("".join(items) or '<p class="muted">nothing was said</p>') + "</div>"


def span_tree(trace: Trace) -> str:
    roots = [s for s in trace.spans if s.parent_id is None]
    return '<ul class="tree top">' + "".join(_node(trace, s) for s in roots) + "</ul>"


def _node(trace: Trace, span: Span) -> str:
    children = trace.children(span.span_id)
    inner = f'<ul class="tree">{"".join(_node(trace, c) for c in children)}</ul>' if children else ""
    status = f' <span class="status-{span.status}">{span.status}</span>' if span.status != "ok" else ""
    return (
        f'<li class="span kind-{span.kind}" data-kind="{span.kind}"><div class="line">{_bar(trace, span)}'
        f'<b>{escape(span.name)}</b><span class="kind {span.kind}">{span.kind}</span>'
        f'<span class="muted">{_ms(span.latency_ms)}</span>{status}{_summary(span)}</div>{_detail(span)}{inner}</li>'
    )


def _summary(span: Span) -> str:
    if span.kind == "llm":
        calls = ", ".join(c.get("name", "?") for c in span.outputs.get("tool_calls") or [])
        said = f" → {escape(calls)}" if calls else ""
        return (
            f'<span>{escape(span.model or "model")} · {span.input_tokens}+{span.output_tokens} tokens'
            f" · ${span.cost_usd:.6f}{said}</span>"
        )
    if span.kind == "chain" and (route := span.outputs.get("route")):
        return f"<span>→ route <b>{escape(str(route))}</b></span>"
    return ""


def _detail(span: Span) -> str:
    parts = []
    if span.kind == "tool":
        parts.append(f"<pre>arguments: {escape(_text(span.inputs.get('args')))}</pre>")
        if "result" in span.outputs:
            parts.append(f"<pre>result: {escape(_text(span.outputs['result']))}</pre>")
    elif span.kind in ("guardrail", "interrupt") and span.outputs:
        parts.append(f"<pre>{escape(_text(span.outputs))}</pre>")
    elif span.kind == "llm" and (calls := span.outputs.get("tool_calls")):
        parts.append(f"<pre>tool calls: {escape(_text(calls))}</pre>")
    if span.error:
        parts.append(f'<pre class="status-error">{escape(span.error)}</pre>')
    return "".join(parts)


def _bar(trace: Trace, span: Span) -> str:
    total = max(trace.latency_ms, 0.001)
    left = max(0.0, (span.started_at - trace.started_at).total_seconds() * 1000 / total)
    width = min(span.latency_ms / total, 1 - min(left, 1))
    return f'<span class="bar" title="{_ms(span.latency_ms)}"><i style="left:{left:.1%};width:{width:.1%}"></i></span>'


def _approval(value: Any) -> str:
    request = (value or {}).get("request") if isinstance(value, dict) else None
    if isinstance(request, dict):
        return f"{request.get('tool')} {_text(request.get('args'))}: {request.get('why') or request.get('rule')}"
    return _text(value)


def _turn(kind: str, who: str, text: str) -> str:
    return f'<div class="turn {kind}"><span class="who">{escape(who)}</span>{escape(text)}</div>'


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def _ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
