from django.apps import AppConfig


class InboxAppConfig(AppConfig):
    name = "inbox_app"
    verbose_name = "Callback inbox"
