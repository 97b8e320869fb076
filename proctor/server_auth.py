"""Custom auth for the LangGraph server (``auth`` in langgraph.json).

Bearer tokens (or the inbox's cookie) map to identities (``PROCTOR_API_TOKENS``); with none
configured, requests are anonymous and may run but never resume. Identities
that are reviewers in the approval policy get the ``reviewer`` permission: only they may
resume an interrupted thread, and only they see every thread; others see their own.

The run context (``proctor.context.RunContext``) of every run is written here, from the
authenticated identity, over whatever ``context``, ``config`` or metadata the client sent: the
requester is the identity (a new message) or the requester the thread serves (a reviewer's
resume, with the reviewer as the run's actor). A thread serves one requester for its life.

Everyone but reviewers may only send a new message: no command (goto, update, resume), no state
edit, no fork from an earlier checkpoint, no interrupt points, so the front door always runs and
guard state is the graph's own. Only identities with the ``admin`` staff role (staff.toml) may
create, change or delete assistants (the server's own start-up assistant needs no one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import cache
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, NoReturn

from langgraph_sdk import Auth

from proctor.approvals.ledger import ApprovalError
from proctor.context import RunContext
from proctor.errors import NotPermitted
from proctor.settings import Settings

if TYPE_CHECKING:
    from proctor.deployment import Deployment

auth = Auth()
OPEN_PATHS = ("/inbox", "/dashboard", "/ok", "/info")  # these pages handle sign-in themselves
MESSAGE_ROLES = ("user", "human")
MESSAGE_KEYS = frozenset({"role", "type", "content", "id"})
FORK_KEYS = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")
SERVER_METADATA = ("user_id", "trace_id", "release_id")  # the graph writes these from the run context


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
    # Staff roles (the policy's reviewers get "reviewer"; see the desk's staff file) are the permissions.
    requester = await asyncio.to_thread(lambda: _packaged().directory.requester(identity))
    return {"identity": identity, "permissions": sorted(requester.roles) or ["user"]}


@auth.on.threads.create
async def owned_threads(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsCreate) -> dict[str, str]:
    value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.threads.create_run
async def only_reviewers_resume(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> dict[str, str] | None:
    if "reviewer" not in ctx.permissions:
        only_a_new_message(value)
    kwargs = value.setdefault("kwargs", {})
    resuming = (kwargs.get("command") or {}).get("resume") is not None
    if resuming and "reviewer" not in ctx.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="only reviewers may resume an interrupted thread")
    if resuming:
        await asyncio.to_thread(_resume_as_reviewer, str(value.get("thread_id")), kwargs["command"]["resume"], ctx.user.identity)
    context = await asyncio.to_thread(run_context_for, ctx.user.identity, value.get("thread_id"), resuming)
    kwargs["context"] = context.model_dump(mode="json")  # replaces whatever the client sent
    return None if "reviewer" in ctx.permissions else {"owner": ctx.user.identity}


def only_a_new_message(value: Mapping[str, Any]) -> None:
    """Refuse a run request that is anything but a plain new message from the caller (403 for
    what the caller may not do, 422 for an input that is not a request). Client message ids are
    dropped: with an id a message would replace the thread's message of that id."""
    kwargs = value.get("kwargs") or {}
    if kwargs.get("command") is not None:
        _refuse(403, "only reviewers may send a command (goto, update or resume); send a new message instead")
    if kwargs.get("interrupt_before") or kwargs.get("interrupt_after"):
        _refuse(403, "only reviewers may set interrupt points")
    configurable = (kwargs.get("config") or {}).get("configurable") or {}
    if any(configurable.get(key) for key in FORK_KEYS):
        _refuse(403, "only reviewers may run from an earlier checkpoint")
    claimed = [key for key in SERVER_METADATA if key in (value.get("metadata") or {})]
    if claimed:
        _refuse(422, f"metadata {', '.join(claimed)} is set by the server, not by the caller (your identity comes from your token)")
    _check_input(kwargs.get("input"))


def _check_input(payload: object) -> None:
    if not isinstance(payload, dict) or set(payload) != {"messages"}:
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        _refuse(422, f'the input must be {{"messages": [...]}} and nothing else (got {keys}); who you are comes from your token')
    messages = payload["messages"]
    if not isinstance(messages, list) or not messages:
        _refuse(422, "input.messages must be a non-empty list of messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not set(message) <= MESSAGE_KEYS:
            _refuse(422, f"input.messages[{i}] must be an object with role and content")
        role = message.get("role", message.get("type"))
        if role not in MESSAGE_ROLES:
            _refuse(422, f"input.messages[{i}] has role {role!r}: a client sends only user messages")
        if not _text(message.get("content")):
            _refuse(422, f"input.messages[{i}].content must be text")
        message.pop("id", None)


def _text(content: object) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str) for b in content
    )


def _refuse(status: int, detail: str) -> NoReturn:
    raise Auth.exceptions.HTTPException(status_code=status, detail=detail)


@auth.on.threads.update
async def only_reviewers_edit_state(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsUpdate) -> dict[str, str] | None:
    """Thread updates are state edits (update_state), metadata patches (the owner is metadata) and
    run cancellations: a caller may cancel their own runs, only reviewers and admins edit."""
    if "reviewer" in ctx.permissions or "admin" in ctx.permissions:
        return None
    if value.get("action") in ("interrupt", "rollback"):
        return {"owner": ctx.user.identity}
    _refuse(403, "only reviewers may change a thread or its state")


AssistantChange = Auth.types.AssistantsCreate | Auth.types.AssistantsUpdate | Auth.types.AssistantsDelete


async def only_admins_configure(ctx: Auth.types.AuthContext, value: AssistantChange) -> None:
    if "admin" not in ctx.permissions:
        _refuse(403, "only an admin may create, change or delete assistants")


# Registered once per action (what stacked decorators did): each decorator is typed for its own action's value.
auth.on.assistants.delete(only_admins_configure)
auth.on.assistants.update(only_admins_configure)
auth.on.assistants.create(only_admins_configure)


def _packaged() -> Deployment:
    from proctor.graphs.server import packaged  # the server's deployment, shared with its graphs

    return packaged()


def run_context_for(identity: str, thread_id: Any, resuming: bool) -> RunContext:
    """The context of a run the authenticated ``identity`` starts on ``thread_id``."""
    from proctor.graphs.server import request_path

    if thread_id is None:
        raise Auth.exceptions.HTTPException(
            status_code=422, detail="proctor runs on a thread (approvals resume it): create a thread first"
        )
    path, thread = request_path(), str(thread_id)
    caller = path.deployment.directory.requester(identity)
    if resuming:
        if not path.deployment.threads.get(thread)[0]:
            raise Auth.exceptions.HTTPException(status_code=409, detail="this thread has nothing to resume")
        return path.resume(thread, actor=caller)
    try:
        return path.start(thread, caller)
    except NotPermitted as exc:
        raise Auth.exceptions.HTTPException(status_code=403, detail=str(exc)) from None


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
