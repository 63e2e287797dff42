from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CallbacksAppConfig(AppConfig):
    name = "callbacks_app"
    verbose_name = "Callbacks"

    def ready(self):
        # Every django-q2 worker process runs a dispatcher (callbacks_app.engine.dispatcher).
        from django_q.signals import post_spawn

        from callbacks_app import cluster_stop, schedules
        from callbacks_app.engine.dispatcher import start_in_worker

        post_spawn.connect(start_in_worker, dispatch_uid="scalehooks-dispatcher")
        # Ctrl-C and process managers send several signals, to every process of the cluster
        # (systemd); django-q2 alone can hang on either (callbacks_app.cluster_stop).
        cluster_stop.install()
        # The daily retention job (SPEC §6.8), ensured after every migrate.
        post_migrate.connect(
            schedules.ensure_schedules_after_migrate,
            sender=self,
            dispatch_uid="scalehooks-callback-schedules",
        )
