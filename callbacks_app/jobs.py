"""django-q2 job functions: they take ids (or nothing), and call a service."""

from callbacks_app.sending import deliveries_drain


def drain_deliveries() -> None:
    deliveries_drain()
