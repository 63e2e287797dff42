"""The delivery engine: pick due deliveries, claim them, send each attempt, record it.

``picking`` (due ids within the per-target caps) -> ``leases`` (a ``Claim``:
lease, attempt row) -> ``attempt`` (a ``SendResult``) -> ``recording``
(attempts and outcomes). ``drain`` runs that loop in a django-q2 job;
``foreground`` runs it in the caller's thread.
"""

from callbacks_app.engine import drain
from callbacks_app.engine.attempt import SendResult, attempt_send
from callbacks_app.engine.drain import deliveries_drain
from callbacks_app.engine.foreground import (
    callback_deliver,
    deliveries_deliver_until_finished,
)
from callbacks_app.engine.leases import Claim, deliveries_claim
from callbacks_app.engine.picking import deliveries_due, deliveries_to_send
from callbacks_app.engine.recording import Outcome, attempt_outcome, attempts_record
from callbacks_app.kicks import kicks


def engine_reset() -> None:
    """Forget this process's engine state (for tests): kicks, watch glance, recorder, sender and its event loop."""
    kicks.reset()
    drain.reset()


__all__ = [
    "Claim",
    "Outcome",
    "SendResult",
    "attempt_outcome",
    "attempt_send",
    "attempts_record",
    "callback_deliver",
    "deliveries_claim",
    "deliveries_deliver_until_finished",
    "deliveries_drain",
    "deliveries_due",
    "deliveries_to_send",
    "engine_reset",
]
