"""The ``/v1`` API of tasks_app, a module per resource (routes in ``tasks_app.urls``)."""
