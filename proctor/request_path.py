"""One request path: (settings, release, run context) -> the compiled graph a request runs on.

Embedded runs and the CLI (``proctor.runner.Proctor``) and the LangGraph server
(``proctor.graphs.server`` for the graph, ``proctor.server_auth`` for the context) all start runs
here. Each thread runs on one release for its whole life: the one chosen (active or canary) at
its first run, pinned in the database, so activating or rolling back a release takes effect on the
next new thread and an interrupted thread resumes on the release it started on. Graphs are built
once per release and cached (releases are immutable), each tracing its own runs
(``proctor.tracing.graph``): nothing here or in the entry points writes trace metadata.
"""

from __future__ import annotations

import threading
from functools import cached_property

from langgraph.checkpoint.base import BaseCheckpointSaver

from proctor.checkpoints import open_checkpointer
from proctor.context import Requester, RunContext
from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.releases.store import ReleaseStore
from proctor.tracing.graph import TracedGraph
from proctor.tracing.settings import TraceSettings


class RequestPath:
    """The graphs of one deployment by release, and the run context of each new run or resume.

    ``checkpointer``: None opens the configured one on first use; False uses none (the LangGraph
    server brings its own).
    """

    def __init__(
        self,
        deployment: Deployment,
        *,
        checkpointer: BaseCheckpointSaver | bool | None = None,
        tracing: TraceSettings | None = None,
    ) -> None:
        self.deployment = deployment
        self._checkpointer = checkpointer
        self._tracing = tracing or TraceSettings()
        self._graphs: dict[str, TracedGraph] = {}
        self._lock = threading.Lock()  # the server builds graphs from worker threads

    @property
    def tracing(self) -> TraceSettings:
        return self._tracing

    @tracing.setter
    def tracing(self, value: TraceSettings) -> None:
        """Graphs trace with the settings they were built with: later graphs get these."""
        with self._lock:
            self._tracing, self._graphs = value, {}

    @cached_property
    def checkpointer(self) -> BaseCheckpointSaver | None:
        if self._checkpointer is False:
            return None
        if isinstance(self._checkpointer, BaseCheckpointSaver):
            return self._checkpointer
        return open_checkpointer(self.deployment.settings.checkpoints_url)

    @cached_property
    def releases(self) -> ReleaseStore:
        settings = self.deployment.settings
        return ReleaseStore(self.deployment.db, reports_dir=settings.releases.reports_dir(settings.data_dir))

    def release_of(self, thread_id: str, key: str | None = None) -> str:
        """The release id ``thread_id`` runs on ('' for the packaged defaults); a new thread is
        pinned now, chosen by ``key`` (its requester; the thread itself when anonymous)."""
        return self.releases.pin(thread_id, key or thread_id) or ""

    def graph_of(self, release_id: str) -> TracedGraph:
        with self._lock:
            if release_id not in self._graphs:
                deployment = self.deployment
                if release_id:
                    deployment = Deployment(deployment.settings, release=self.releases.get(release_id))
                checkpointer = self.checkpointer if self._checkpointer is not False else False
                graph = build_graph(deployment=deployment, checkpointer=checkpointer, tracing=self._tracing)
                assert isinstance(graph, TracedGraph)
                self._graphs[release_id] = graph
            return self._graphs[release_id]

    def graph_for(self, thread_id: str, key: str | None = None) -> TracedGraph:
        """The graph of the release ``thread_id`` is pinned to (pinned now, by ``key``, if new)."""
        return self.graph_of(self.release_of(thread_id, key))

    def start(self, thread_id: str, requester: Requester) -> RunContext:
        """A new message on ``thread_id`` from ``requester``: the thread serves them for good
        (``NotPermitted`` for anyone else) and runs on its pinned release."""
        self.deployment.threads.pin(thread_id, requester)
        release = self.release_of(thread_id, requester.id)
        return RunContext(requester=requester, thread_id=thread_id, release_id=release or None)

    def resume(self, thread_id: str, actor: Requester | None = None) -> RunContext:
        """A resume of ``thread_id``: for the requester the thread serves, on its release, with
        ``actor`` (the reviewer) driving it."""
        requester = self.deployment.directory.requester(self.deployment.threads.get(thread_id)[1])
        release = self.release_of(thread_id, requester.id)
        return RunContext(requester=requester, thread_id=thread_id, release_id=release or None, actor=actor)
