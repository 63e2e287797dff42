"""The one model whose saves fire the peer's webhooks: a task completed, like a ScaleHooks task."""

from django.db import models


class Task(models.Model):
    """The fields a ScaleHooks callback carries, so that the webhook body is of the same size (1,085 bytes)."""

    type = models.CharField(max_length=40, default="categorization")
    status = models.CharField(max_length=20, default="pending")
    instruction = models.TextField()
    params = models.JSONField()
    metadata = models.JSONField(default=dict)
    response = models.JSONField(null=True)
    callback_url = models.URLField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"{self.type} {self.pk} ({self.status})"
