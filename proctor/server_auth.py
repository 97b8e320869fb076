"""Custom auth for the LangGraph server (``auth`` in langgraph.json).

Bearer tokens (or the inbox's cookie) map to identities (``PROCTOR_API_TOKENS``); with none
configured, requests are anonymous and may run but never resume. Identities
that are reviewers in the approval policy get the ``reviewer`` permission: only they may
resume an interrupted thread, and only they see every thread; others see their own.
"""

from __future__ import annotations

from functools import cache
from http.cookies import SimpleCookie

from langgraph_sdk import Auth

from proctor.deployment import Deployment
from proctor.settings import Settings

auth = Auth()
OPEN_PATHS = ("/inbox", "/ok", "/info")  # the inbox page handles sign-in itself


@cache
def _directory() -> tuple[dict[str, str], frozenset[str]]:
    deployment = Deployment(Settings())
    return deployment.settings.api_tokens, frozenset(r.id for r in deployment.policy.reviewers)


def token_from(headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization", b"").decode()
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    cookie = SimpleCookie(headers.get(b"cookie", b"").decode())
    return cookie["proctor_token"].value if "proctor_token" in cookie else None


@auth.authenticate
async def authenticate(path: str, headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    tokens, reviewers = _directory()
    identity = tokens.get(token_from(headers) or "")
    if identity is None:
        # With no tokens configured (a dev server) anyone may run, but nobody may resume.
        if not tokens or path.startswith(OPEN_PATHS):
            return {"identity": "anonymous", "permissions": []}
        raise Auth.exceptions.HTTPException(status_code=401, detail="missing or unknown token")
    return {"identity": identity, "permissions": ["reviewer"] if identity in reviewers else ["user"]}


@auth.on.threads.create
async def owned_threads(ctx: Auth.types.AuthContext, value: dict) -> dict:
    value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.threads.create_run
async def only_reviewers_resume(ctx: Auth.types.AuthContext, value: dict) -> dict | None:
    command = (value.get("kwargs") or {}).get("command") or {}
    if command.get("resume") is not None and "reviewer" not in ctx.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="only reviewers may resume an interrupted thread")
    return None if "reviewer" in ctx.permissions else {"owner": ctx.user.identity}


@auth.on.threads
async def own_or_review(ctx: Auth.types.AuthContext, value: dict) -> dict | None:
    return None if "reviewer" in ctx.permissions else {"owner": ctx.user.identity}
