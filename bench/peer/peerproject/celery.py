"""The Celery app, as Celery's "First steps with Django" and django-webhook's docs set it up."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")

app = Celery("peerproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def announce_ready(**kwargs):
    """bench/peer.py waits for this line before it starts the clock (the worker logs at WARNING)."""
    print("peer worker ready", flush=True)
