"""Why a review step cannot be taken."""

from __future__ import annotations

from proctor.errors import ProctorError


class ReviewError(ProctorError):
    """A review step that cannot be taken; nothing was changed."""
