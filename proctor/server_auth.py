"""Custom auth for the LangGraph server (``auth`` in langgraph.json).

Bearer tokens (or the inbox's cookie) map to identities (``PROCTOR_API_TOKENS``); with none
configured, requests are anonymous and may run but never resume. Identities
that are reviewers in the approval policy get the ``reviewer`` permission: only they may
resume an interrupted thread, and only they see every thread; others see their own.

The run context (``proctor.context.RunContext``) of every run is written here, from the
authenticated identity, over whatever ``context``, ``config`` or metadata the client sent: the
requester is the identity (a new message) or the requester the thread serves (a reviewer's
resume, with the reviewer as the run's actor). A thread serves one requester for its life.
"""

from __future__ import annotations

import asyncio
from functools import cache
from http.cookies import SimpleCookie
from typing import Any

from langgraph_sdk import Auth

from proctor.approvals.ledger import ApprovalError
from proctor.context import RunContext
from proctor.errors import NotPermitted
from proctor.settings import Settings

auth = Auth()
OPEN_PATHS = ("/inbox", "/dashboard", "/ok", "/info")  # these pages handle sign-in themselves


@cache
def _tokens() -> dict[str, str]:
    return Settings().api_tokens


def token_from(headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization", b"").decode()
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    cookie = SimpleCookie(headers.get(b"cookie", b"").decode())
    return cookie["proctor_token"].value if "proctor_token" in cookie else None


@auth.authenticate
async def authenticate(path: str, headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    tokens = _tokens()
    identity = tokens.get(token_from(headers) or "")
    if identity is None:
        # With no tokens configured (a dev server) anyone may run, but nobody may resume.
        if not tokens or path.startswith(OPEN_PATHS):
            return {"identity": "anonymous", "permissions": []}
        raise Auth.exceptions.HTTPException(status_code=401, detail="missing or unknown token")
    # Staff roles (the policy's reviewers get "reviewer"; see agents/policy/staff.toml) are the permissions.
    requester = await asyncio.to_thread(lambda: _packaged().directory.requester(identity))
    return {"identity": identity, "permissions": sorted(requester.roles) or ["user"]}


@auth.on.threads.create
async def owned_threads(ctx: Auth.types.AuthContext, value: dict) -> dict:
    value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.threads.create_run
async def only_reviewers_resume(ctx: Auth.types.AuthContext, value: dict) -> dict | None:
    kwargs = value.setdefault("kwargs", {})
    resuming = (kwargs.get("command") or {}).get("resume") is not None
    if resuming and "reviewer" not in ctx.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="only reviewers may resume an interrupted thread")
    if resuming:
        await asyncio.to_thread(_resume_as_reviewer, str(value.get("thread_id")), kwargs["command"]["resume"], ctx.user.identity)
    context = await asyncio.to_thread(run_context_for, ctx.user.identity, value.get("thread_id"), resuming)
    kwargs["context"] = context.model_dump(mode="json")  # replaces whatever the client sent
    return None if "reviewer" in ctx.permissions else {"owner": ctx.user.identity}


def _packaged():
    from proctor.graphs.server import packaged  # the server's deployment, shared with its graphs

    return packaged()


def run_context_for(identity: str, thread_id: Any, resuming: bool) -> RunContext:
    """The context of a run the authenticated ``identity`` starts on ``thread_id``."""
    from proctor.graphs.server import pin_release

    if thread_id is None:
        raise Auth.exceptions.HTTPException(
            status_code=422, detail="proctor runs on a thread (approvals resume it): create a thread first"
        )
    deployment, thread = _packaged(), str(thread_id)
    caller = deployment.directory.requester(identity)
    if resuming:
        pinned, owner = deployment.threads.get(thread)
        if not pinned:
            raise Auth.exceptions.HTTPException(status_code=409, detail="this thread has nothing to resume")
        requester, actor = deployment.directory.requester(owner), caller
    else:
        try:
            deployment.threads.pin(thread, caller)
        except NotPermitted as exc:
            raise Auth.exceptions.HTTPException(status_code=403, detail=str(exc)) from None
        requester, actor = caller, None
    release = pin_release(thread, requester.key)
    return RunContext(requester=requester, thread_id=thread, release_id=release or None, actor=actor)


def _resume_as_reviewer(thread_id: str, resume: object, identity: str) -> None:
    """The decider is the authenticated reviewer: a value in no accepted format is a 400; one naming
    someone else, or a decision this reviewer may not take (role, limit, their own request), a 403."""
    from proctor.approvals.decisions import screen_resume

    try:
        screen_resume(_packaged().ledger, thread_id, resume, identity)
    except ApprovalError as exc:
        raise Auth.exceptions.HTTPException(status_code=getattr(exc, "status_code", 403), detail=str(exc)) from exc


@auth.on.threads
async def own_or_review(ctx: Auth.types.AuthContext, value: dict) -> dict | None:
    return None if "reviewer" in ctx.permissions else {"owner": ctx.user.identity}


@auth.on.crons
async def no_client_crons(ctx: Auth.types.AuthContext, value: dict) -> None:
    # A scheduled run starts without an authenticated request, so nothing could vouch for its context.
    raise Auth.exceptions.HTTPException(status_code=403, detail="proctor does not run client-scheduled jobs")
