"""The peer's Django project: django-webhook on one model, Celery on Redis, PostgreSQL.

Loading the Celery app with Django makes ``fire_webhook.delay`` use it, as
Celery's "First steps with Django" sets up.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
