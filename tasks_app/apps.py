from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks and accounts"

    def ready(self):
        from scalehooks.api.authentication import KeyCache
        from scalehooks.quota import storage
        from tasks_app.files import files_bytes

        storage.register("files", files_bytes)
        KeyCache.connect()  # a key's account, cached in Redis, forgotten on any change of it
