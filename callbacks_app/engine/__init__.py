"""The delivery engine: pick due deliveries, claim them, send each attempt, record it.

``picking`` (due ids within the per-target caps, fair between accounts) -> ``leases`` (a
``Claim``: lease, attempt row) -> ``attempt`` (a ``SendResult``) -> ``recording`` (attempts
and outcomes). ``dispatcher`` runs that loop, one per django-q2 worker process;
``foreground`` runs one delivery's attempts in the caller's thread.
"""

from callbacks_app.engine import dispatcher
from callbacks_app.engine.attempt import SendResult, attempt_send
from callbacks_app.engine.dispatcher import Dispatcher, deliveries_dispatch
from callbacks_app.engine.foreground import callback_deliver, deliveries_deliver_until_finished
from callbacks_app.engine.leases import Claim, deliveries_claim
from callbacks_app.engine.picking import deliveries_due, deliveries_to_send
from callbacks_app.engine.recording import Outcome, attempt_outcome, attempts_record


def engine_reset() -> None:
    """Forget this process's engine state (for tests): its dispatcher, its sender and event loop."""
    dispatcher.reset()


__all__ = [
    "Claim",
    "Dispatcher",
    "Outcome",
    "SendResult",
    "attempt_outcome",
    "attempt_send",
    "attempts_record",
    "callback_deliver",
    "deliveries_claim",
    "deliveries_deliver_until_finished",
    "deliveries_dispatch",
    "deliveries_due",
    "deliveries_to_send",
    "engine_reset",
]
