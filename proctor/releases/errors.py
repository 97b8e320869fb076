"""Typed errors of releases: each says what was wrong and what to do instead."""

from __future__ import annotations

from pydantic import ValidationError

from proctor.errors import ProctorError


def describe(exc: ValidationError) -> str:
    """The first problem of a validation error, as ``where: what``: one line a user can act on."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    what = error["msg"].removeprefix("Value error, ")
    return f"{where}: {what}" if where else what


class ReleaseError(ProctorError):
    """Base of every release error."""


class InvalidBundle(ReleaseError):
    """A file or folder a release is made from is missing parts or malformed; the message names it."""


class OtherDesk(ReleaseError):
    """A release made from another desk than the one these settings run: its agents would call tools
    this desk does not have."""


class UnknownRelease(ReleaseError):
    """No release has this id (or id prefix), or the prefix matches several."""


class MalformedRelease(ReleaseError):
    """A stored release no longer validates or no longer matches its content address."""


class ConcurrentChange(ReleaseError):
    """Another operator changed the active release or the canary between our read and our write."""


class InvalidCanary(ReleaseError):
    """A canary that cannot run: percent outside (0, 100), the active release itself, no active release."""


class CanaryRunning(ReleaseError):
    """Another canary is in the way: promote or abort it first."""


class NoCanary(ReleaseError):
    """Promote or abort was asked while no canary runs."""


class NothingToRollBack(ReleaseError):
    """The active release is the first one ever activated (or none is)."""


class GateFailed(ReleaseError):
    """The release has no passing ``proctor eval`` report, and the gate requires one."""


class EvalRegression(GateFailed):
    """The candidate scores below the active release on the same golden split."""


class InvalidPeriod(ReleaseError):
    """A ``--since`` that is not a duration."""
