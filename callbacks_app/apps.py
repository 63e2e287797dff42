from django.apps import AppConfig


class CallbacksAppConfig(AppConfig):
    name = "callbacks_app"
    verbose_name = "Callbacks"

    def ready(self):
        # Every django-q2 worker process runs a dispatcher thread that hands
        # due deliveries to the queue (see callbacks_app.dispatcher).
        from django_q.signals import post_spawn

        from callbacks_app import dispatcher

        post_spawn.connect(dispatcher.start_in_worker, dispatch_uid="scalehooks-dispatcher")
