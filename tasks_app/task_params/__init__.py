"""The params each task type accepts at creation (SPEC §4): one input serializer per type.

Scale takes them flat in the create body; ``serializers.task_create_body``
validates them with the type's serializer here. What a type does with its
params once stored (its response, its attachments, its synthetic response) is
``tasks_app.task_types``, under the same names.
"""

from rest_framework import serializers

from tasks_app.task_params.collection import TextCollectionParams
from tasks_app.task_params.documents import DocumentTranscriptionParams
from tasks_app.task_params.image import IMAGE_PARAMS
from tasks_app.task_params.text import TEXT_PARAMS

# task type name → its params input
TYPE_PARAMS: dict[str, type[serializers.Serializer]] = {
    **TEXT_PARAMS,
    "textcollection": TextCollectionParams,
    "documenttranscription": DocumentTranscriptionParams,
    **IMAGE_PARAMS,
}
