"""The callback app's models: the ledger (``ledger``: deliveries, attempts,
email confirmations, the portal's recoveries) and target health (``health``, SPEC §16)."""

from callbacks_app.models.health import TargetAlert, TargetHealth, TargetHealthSlot
from callbacks_app.models.ledger import (
    Delivery,
    DeliveryAttempt,
    EmailConfirmation,
    FailedDelivery,
    Recovery,
    generate_delivery_id,
)

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "EmailConfirmation",
    "FailedDelivery",
    "Recovery",
    "TargetAlert",
    "TargetHealth",
    "TargetHealthSlot",
    "generate_delivery_id",
]
