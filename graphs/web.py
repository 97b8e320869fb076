"""The web routes the LangGraph server mounts (``http.app`` in langgraph.json): the approval inbox
and the operators' dashboard."""

from __future__ import annotations

import asyncio

from langgraph_sdk import get_client
from starlette.applications import Starlette
from starlette.requests import Request

from proctor.approvals.inbox import resume_value
from proctor.approvals.ledger import ApprovalRequest
from proctor.approvals.web import create_app
from proctor.graphs.server import packaged
from proctor.server_auth import run_context_for, token_from
from proctor.tracing.dashboard import dashboard_routes
from proctor.tracing.record import store_for
from proctor.tracing.summary import approvals_for

deployment = packaged()


async def resume_on_server(request: ApprovalRequest, http: Request) -> None:
    """Resume the thread through the server itself (in-process), as the signed-in reviewer."""
    token = token_from(dict(http.headers.raw))
    client = get_client(headers={"Authorization": f"Bearer {token}"})
    state = await client.threads.get_state(request.thread_id)
    waiting = [i for i in state.get("interrupts", []) if (i.get("value") or {}).get("request", {}).get("id") == request.id]
    if waiting:
        resume = {waiting[0]["id"]: resume_value(request)}
        # An in-process call skips the server's auth, so it brings the context auth would write.
        context = await asyncio.to_thread(run_context_for, _identity(token), request.thread_id, True)
        await client.runs.wait(
            request.thread_id, "proctor", command={"resume": resume}, context=context.model_dump(mode="json")
        )


def _identity(token: str | None) -> str:
    return deployment.settings.api_tokens.get(token or "", "anonymous")


inbox = create_app(lambda: deployment.ledger, resume_on_server, thread=lambda t: store_for(deployment.settings).thread(t))
dashboard = dashboard_routes(lambda: store_for(deployment.settings), lambda since: approvals_for(deployment.ledger, since))
app = Starlette(routes=[*inbox.routes, *dashboard])
