"""The desk in a process of its own, for the kill -9 family: ``python -m proctor.redteam.victim APPROVAL_ID``.

It resumes the thread of a decided approval request exactly as an operator's
``proctor approvals resume`` does (``Inbox.resume``), with the settings the environment names.
"""

from __future__ import annotations

import sys

from proctor.approvals.inbox import Inbox
from proctor.runner import Proctor
from proctor.settings import Settings


def main(argv: list[str]) -> int:
    desk = Proctor(Settings())
    Inbox(desk).resume(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
