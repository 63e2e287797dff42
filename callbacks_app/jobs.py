"""django-q2 job functions: they take ids, and call a service."""

from callbacks_app.services import callback_deliver


def deliver_callback(delivery_id: str, lease_token: str | None = None) -> None:
    callback_deliver(delivery_id=delivery_id, lease_token=lease_token)
