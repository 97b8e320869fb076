"""The hostile model server as a pytest fixture (see proctor.redteam.server).

Reuse in a test module::

    from tests.hostile import hostile_model  # noqa: F401  (pytest fixture)

    def test_something(hostile_model, settings):
        hostile_model.load(Script(route="billing", replies=[calls(("refund_invoice", {...}, "id-1"))]))
        desk = Proctor(settings.model_copy(update={"model": "hostile", "openai_base_url": hostile_model.base_url,
                                                   "openai_api_key": "x", "classifier_threshold": 1.0}))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proctor.redteam.server import HostileModel


@pytest.fixture
def hostile_model() -> Iterator[HostileModel]:
    """A fresh hostile, obedient OpenAI-compatible server on 127.0.0.1 for one test."""
    with HostileModel() as model:
        yield model
