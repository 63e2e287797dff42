"""The parts of Scale's API that the official client calls and this service does not offer
(studio, evaluation and training tasks, project task templates, v2): a 402 in the error shape of SPEC §4, which the
client raises as ``ScaleNotEnabled``. Any method; a key is needed, as on every route."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.errors import NotOffered

FEATURES = {
    "studio": "Scale Studio",
    "evaluation_tasks": "Evaluation tasks",
    "training_tasks": "Training tasks",
    "taskTemplates": "Project task templates",
    "v2": "Scale's v2 API",
}


class NotOfferedApi(APIView):
    policy = access.READ
    feature = ""  # a key of FEATURES, given by the URL pattern

    @extend_schema(exclude=True)
    def refuse(self, request, *args, **kwargs):
        raise NotOffered(f"{FEATURES[self.feature]} ({self.feature}) is not offered by this service.")

    get = post = put = patch = delete = refuse
