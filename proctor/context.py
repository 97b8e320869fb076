"""Who a run acts for: the typed run context (LangGraph ``context_schema``), set by entry points only.

The entry point decides it from what it trusts: on the LangGraph server the authenticated user
(``proctor.server_auth``), embedded the caller (``Proctor.run(text, user_id=...)`` or
``graph.invoke(..., context=RunContext(...))``: the embedding code is the trust boundary), on the
CLI ``--user``. Nothing a client or the model writes into input, config or metadata changes it.
Nodes read it as ``runtime.context``, middleware as ``request.runtime.context``, tools as
``ToolRuntime.context``, always through :func:`run_context`, the one place that decides what a run
started without one is: anonymous, on the configured thread (or, with none, a thread of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from proctor.errors import InvalidRequest

Kind = Literal["customer", "staff", "anonymous"]


class Requester(BaseModel, frozen=True):
    """Whose request a run serves: quotas, ownership, the approval's requester and traces key on it."""

    id: str | None = None
    """None = anonymous."""
    kind: Kind = "anonymous"
    roles: frozenset[str] = frozenset()
    """Staff roles and tool scopes, e.g. {"reviewer", "admin", "billing:read"}."""

    @property
    def key(self) -> str:
        """The id usage and audit records are kept under; every anonymous caller shares one."""
        return self.id or "anonymous"

    def holds(self, scopes: frozenset[str] | set[str]) -> bool:
        """Staff act across customers only within their declared scopes."""
        return self.kind == "staff" and set(scopes) <= self.roles


ANONYMOUS = Requester()


class RunContext(BaseModel, frozen=True):
    requester: Requester = Field(default=ANONYMOUS)
    thread_id: str
    release_id: str | None = None
    actor: Requester | None = None
    """Who drives this invocation when it is not the requester: the reviewer resuming a thread."""

    @property
    def acting(self) -> Requester:
        return self.actor or self.requester


def run_context(runtime: Any = None, config: Mapping[str, Any] | None = None) -> RunContext:
    """The run's context: the one its entry point set, else anonymous on the configured thread."""
    context = _given(getattr(runtime, "context", None))
    if context is not None:
        return context
    if config is None:
        config = getattr(runtime, "config", None)
    if config is None:
        from langgraph.config import get_config

        try:
            config = get_config()
        except RuntimeError:
            config = {}
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    # Without a thread nothing persists, so nothing is ever resumed: each such call stands alone.
    return RunContext(thread_id=str(thread_id) if thread_id else f"unthreaded-{uuid.uuid4().hex}")


def entry_context(context: Any, config: Mapping[str, Any] | None) -> RunContext:
    """What a run is started with (``graph.invoke(..., context=...)``, a server's context dict), as
    its nodes will read it: anonymous on the configured thread when none was given."""
    return _given(context) or run_context(None, config or {})


def _given(context: Any) -> RunContext | None:
    if isinstance(context, RunContext):
        return context
    if isinstance(context, dict) and context:
        try:
            return RunContext.model_validate(context)
        except ValidationError as exc:
            raise InvalidRequest(f"the run context is malformed: {exc.errors()[0]['msg']}") from None
    return None
