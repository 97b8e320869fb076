"""The golden set as LangSmith examples: built in memory offline, uploaded as a dataset with an API key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from langsmith import Client
from langsmith.schemas import Example

from proctor.evals.golden import GoldenSet
from proctor.evals.task import Task


def dataset_id(golden: GoldenSet) -> uuid.UUID:
    """Stable per version and content, so example ids are too."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"proctor-golden/{golden.version}/{golden.sha256}")


def example_id(golden: GoldenSet, task: Task) -> uuid.UUID:
    return uuid.uuid5(dataset_id(golden), task.id)


def inputs(task: Task) -> dict[str, str | None]:
    return {"task_id": task.id, "input": task.input, "user": task.user}


def metadata(task: Task) -> dict[str, object]:
    return {"split": task.split, "expected_route": task.expected_route, "tags": task.tags}


def examples(golden: GoldenSet, tasks: Sequence[Task]) -> list[Example]:
    """In-memory examples; ``langsmith.evaluate`` needs ``id`` and ``dataset_id`` set on each."""
    ds = dataset_id(golden)
    return [
        Example(
            id=example_id(golden, t),
            dataset_id=ds,
            inputs=inputs(t),
            outputs=t.expected().model_dump(mode="json"),
            metadata=metadata(t),
        )
        for t in tasks
    ]


def uploaded_examples(client: Client, golden: GoldenSet, tasks: Sequence[Task]) -> list[Example]:
    """Upload the whole set once per version and content, then select the tasks to run from it."""
    name = f"proctor-golden-{golden.version}-{golden.sha256[:8]}"
    if not client.has_dataset(dataset_name=name):
        dataset = client.create_dataset(name, description=f"proctor golden set {golden.version} ({golden.sha256})")
        client.create_examples(
            dataset_id=dataset.id,
            examples=[
                {
                    "id": example_id(golden, t),
                    "inputs": inputs(t),
                    "reference_outputs": t.expected().model_dump(mode="json"),
                    "metadata": metadata(t),
                    "split": t.split,
                }
                for t in golden.tasks
            ],
        )
    wanted = {example_id(golden, t) for t in tasks}
    return [e for e in client.list_examples(dataset_name=name) if e.id in wanted]
