"""The tree's routes, plus ``/bench/minimal``: the least a Django view on that server does."""

from django.http import JsonResponse
from django.urls import path

from scalehooks.urls import *  # noqa: F403 - the tree's routes and error handlers
from scalehooks.urls import urlpatterns as tree_urlpatterns


def minimal(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/minimal", minimal), *tree_urlpatterns]
