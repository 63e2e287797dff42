"""The task type registry (SPEC §4): one class per type, a module per family.

Each type validates an operator's response, makes the synthetic response of test
mode (SPEC §13) and names the attachments to download. Its params at creation are
an API input, declared in ``tasks_app.task_params`` (one input per type, same names).
"""

from tasks_app.task_types import collection, documents, image, text, video  # noqa: F401  (each registers its types)
from tasks_app.task_types.base import (
    ATTACHMENT_TYPES,
    GEOMETRY_KINDS,
    REGISTRY,
    TaskType,
    get_task_type,
    supported_types,
)

__all__ = ["ATTACHMENT_TYPES", "GEOMETRY_KINDS", "REGISTRY", "TaskType", "get_task_type", "supported_types"]
