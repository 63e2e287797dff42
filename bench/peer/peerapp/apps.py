from django.apps import AppConfig


class PeerappConfig(AppConfig):
    name = "peerapp"
