"""``/v1/projects``: the account's projects of the key's mode (SPEC §12)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app import batches, selectors
from tasks_app import schema_batches as doc
from tasks_app.representation import project_representation
from tasks_app.serializers import ProjectCreateInput, ProjectParamsInput
from tasks_app.views.common import valid


def own_project(request, name: str):
    return selectors.project_get(user=request.user, mode=request.auth.mode, name=name)


class ProjectsApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="projects_list",
        summary="The account's projects (a bare JSON array), newest first",
        responses=responses(doc.ProjectOutput(many=True)),
    )
    def get(self, request):
        projects = selectors.projects_visible_to(user=request.user, mode=request.auth.mode)
        return Response([project_representation(project) for project in projects])

    @extend_schema(
        operation_id="project_create",
        summary="Create a project",
        request=ProjectCreateInput,
        responses=responses(doc.ProjectOutput, 400, 409, 413),
    )
    def post(self, request):
        data = valid(ProjectCreateInput(data=request.data))
        project = batches.project_create(
            owner=request.user,
            mode=request.auth.mode,
            name=data["name"],
            task_type=data["type"],
            params=data["params"] or {},
            rapid=data["rapid"],
            studio=data["studio"],
            dataset_id=data["datasetId"] or "",
        )
        return Response(project_representation(project))


class ProjectApi(APIView):
    policy = access.READ

    @extend_schema(
        operation_id="project_get",
        summary="Read a project",
        parameters=[doc.PROJECT_NAME],
        responses=responses(doc.ProjectOutput, 404),
    )
    def get(self, request, name):
        return Response(project_representation(own_project(request, name)))


class ProjectParamsApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="project_params_set",
        summary="Set the params the project's new tasks inherit (a new version)",
        parameters=[doc.PROJECT_NAME],
        request={"application/json": doc.PARAMS_BODY},
        responses=responses(doc.ProjectOutput, 400, 404, 413),
    )
    def post(self, request, name):
        project = own_project(request, name)
        data = valid(ProjectParamsInput.from_body(request.data))
        project = batches.project_params_set(
            project_id=project.id, params=data["params"], patch=data["patch"]
        )
        return Response(project_representation(project))
