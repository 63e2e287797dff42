from django.apps import AppConfig


class InboxAppConfig(AppConfig):
    name = "inbox_app"
    verbose_name = "Callback inbox"

    def ready(self):
        from inbox_app.usage import QUOTA_NAME, captured_bytes
        from scalehooks.quota import storage

        storage.register(QUOTA_NAME, captured_bytes)
