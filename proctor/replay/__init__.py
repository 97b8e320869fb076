"""Replays: run a recorded turn again with another model, prompt or release, and compare the two.

``replay(trace_id)`` reads the turn back from the trace store (the run, plus the resumes after its
approvals), runs its request again and returns both trajectories and outcomes with what differs.

- Isolation: the replay runs in a temporary data dir on a copy of the domain database, with an
  in-memory checkpointer. Dry runs, the approval ledger, usage counters and escalations all land
  in the copy. The replay is not saved as a trace: its traces exist only to be compared, so
  production figures (costs, failure rates, release comparisons) never count it.
- Tools: ``ToolServing`` serves each call from the recording when the original made it, runs
  other reads on the copy and dry-runs other writes. Nothing is ever executed for real.
- Approvals: one the original stopped for and a reviewer then decided is decided the same way;
  any other stops the replay, reported as "would wait for approval".
- Configuration: every variant (the trace's release, ``release``, ``prompt_version``, ``model``)
  is a release bundle, so what changed is shown with the releases' own diff.

One concept per module:

- ``run``: ``replay()`` itself and its result, ``Replay`` (the ``--json`` output);
- ``recording``: the original turn read back from the trace store, and its recorded approvals;
- ``sandbox``: the throwaway data dir with a copy of the domain database, and its ledger judging
  the original's approvals as they were judged then;
- ``config``: what the replay runs on (``ReplayConfig``), resolved to a release bundle;
- ``matching``: a call's identity (``call_key``) and the queues that pair replayed calls with recorded ones;
- ``serving``: ``ToolServing``, the tools served from the recording, on the copy or as dry runs;
- ``turn``: driving the replayed turn, answering approvals the way a reviewer answered the original's;
- ``diff``: the two trajectories (``Step``, ``Outcome``), aligned and compared;
- ``errors``: ``ReplayError``, ``NotReplayable``;
- ``cli``: ``proctor replay``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proctor.lazy import lazy_exports

if TYPE_CHECKING:
    from proctor.replay.config import ReplayConfig
    from proctor.replay.diff import Outcome, Step, align, compare, outcome
    from proctor.replay.errors import NotReplayable, ReplayError
    from proctor.replay.run import Replay, replay
    from proctor.replay.serving import ToolServing

# Imported on first use: `proctor replay --help` (the CLI imports ``proctor.replay.cli``) needs no LangChain.
_LAZY = {
    "ReplayConfig": "config",
    "Outcome": "diff",
    "Step": "diff",
    "align": "diff",
    "compare": "diff",
    "outcome": "diff",
    "NotReplayable": "errors",
    "ReplayError": "errors",
    "Replay": "run",
    "replay": "run",
    "ToolServing": "serving",
}

__all__ = [
    "NotReplayable",
    "Outcome",
    "Replay",
    "ReplayConfig",
    "ReplayError",
    "Step",
    "ToolServing",
    "align",
    "compare",
    "outcome",
    "replay",
]

__getattr__ = lazy_exports(__name__, _LAZY, globals())
