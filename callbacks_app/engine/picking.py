"""Picking the deliveries to send: due, held by nobody, within the per-origin caps, fair between accounts.

``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` caps how many sends one target origin
(``scheme://host:port``, or an email domain: ``Delivery.target_origin``) may
hold at once across all workers, and one dispatcher gives an origin at most
half of its slots: a target that hangs until the timeout
delays its own callbacks, not everybody else's, however many URLs it spreads
them over.

A dispatcher's slots are shared between accounts by fair queuing: an account
alone may take every free slot; as soon as another account has work waiting,
each gets its share of the dispatcher's slots (``slots // accounts``), the one with
the fewest sends in flight first. The operators' alerts (``ops.alert``, of no
account: ``owner_id`` None) are a party of their own, charged to no account. An account below its share gets it at once,
even when another account's sends hold every slot (the dispatcher then runs over
its slots until those end; at most twice its slots), so one account's slow or
hostile receivers delay its own callbacks, not other accounts'.
"""

from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from callbacks_app.engine import pick_sql
from callbacks_app.models import Delivery
from callbacks_app.pausing import paused_exclusion

CANDIDATES_PER_SLOT = 4  # due rows looked at per free slot, to fill it despite per-origin caps
# Due rows one candidate query reads at most, however many slots are free: where the backlog
# is an origin at its cap, every row past its room is read for nothing (a dispatcher with 330 free
# slots read 1,320 rows a pick for the ~10 the origin had room for: 14.5 ms a pick on SQLite,
# then the slowest part of refilling the slots; docs/benchmarks.md, issue 15). The passes
# fill the rest.
MAX_CANDIDATES = 256
PICK_PASSES = 3  # rounds of candidate queries per pick at most

# (account id, target origin) of one send in flight in a dispatcher (account None: an operators' alert).
Holding = tuple[int | None, str]


def held_by_nobody(now) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def deliveries_due(*, now):
    """Pending deliveries that are due and that no worker holds."""
    return Delivery.objects.filter(
        held_by_nobody(now), status=Delivery.Status.PENDING, next_attempt_at__lte=now
    )


class _Pick:
    """One pick's state: the counts the caps and shares compare, and what was picked."""

    def __init__(
        self,
        *,
        now,
        limit: int,
        slots: int,
        held: Iterable[Holding],
        answered: Callable[[], Iterable[Holding]],
    ):
        held = list(held)
        self.limit, self.slots = limit, slots
        self.origin_slots = slots // 2  # of this dispatcher's, one origin may hold at most
        self.cap = settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET
        self.origin_in_flight: Counter[str] = Counter()  # across all workers
        self.account_in_flight: Counter[int | None] = Counter()  # across all workers (None: operators)
        for origin, owner_id, n in pick_sql.sends_in_flight(now=now):
            self.origin_in_flight[origin] += n
            self.account_in_flight[owner_id] += n
        # Read after the leases: a send recorded in between is then in neither (never in both).
        for owner_id, origin in answered():  # still leased, but no longer at the receiver
            self.origin_in_flight[origin] -= 1
            self.account_in_flight[owner_id] -= 1
        self.own_origin = Counter(origin for _, origin in held)  # this dispatcher's sends
        self.own_account = Counter(owner_id for owner_id, _ in held)
        self.own_total = len(held)
        self.accounts = set(self.own_account)  # accounts holding slots or with work waiting
        self.picked: list[str] = []
        self.capped = False  # whether an origin at its cap was left out (its work may wait for room)
        # Target health (SPEC §16): paused targets' deliveries wait.
        self.paused = paused_exclusion(now=now) if pick_sql.any_target_paused() else None

    def origin_full(self, origin: str) -> bool:
        return self.origin_in_flight[origin] >= self.cap or self.own_origin[origin] >= self.origin_slots

    def share(self) -> int:
        return max(1, self.slots // max(1, len(self.accounts)))

    def free(self) -> int:
        return self.limit - len(self.picked)

    def full(self) -> bool:
        """Whether every slot of the dispatcher is taken (only accounts below their share may take more)."""
        return self.free() <= 0 and self.own_total >= self.slots

    def done(self, owner_id: int) -> bool:
        """Whether this account, the one with the fewest sends, may take no more (nor may any other)."""
        if self.free() > 0:
            return False
        return not self.full() or self.own_account[owner_id] >= self.share()

    def satisfied(self) -> set[int | None]:
        """Accounts that can take nothing more: no slot is free and they hold their largest possible share."""
        if self.free() > 0:
            return set()
        return {owner_id for owner_id in self.accounts if self.own_account[owner_id] >= self.share()}

    def take(self, delivery_id: str, owner_id: int, origin: str) -> None:
        self.picked.append(delivery_id)
        self.origin_in_flight[origin] += 1
        self.own_origin[origin] += 1
        self.own_account[owner_id] += 1
        self.account_in_flight[owner_id] += 1
        self.own_total += 1


def _candidates(pick: _Pick, *, now, window: int, exclude_accounts: set[int | None]) -> list[tuple]:
    """Up to ``window`` due (id, account, origin) rows, oldest due first, none of a full origin."""
    full = {origin for origin in pick.origin_in_flight | pick.own_origin if pick.origin_full(origin)}
    pick.capped = pick.capped or bool(full)
    if pick.paused is None:  # the usual case, in one statement compiled once (engine.pick_sql)
        return pick_sql.due_candidates(
            now=now, window=window, origins_out=full, accounts_out=exclude_accounts, ids_out=pick.picked
        )
    due = deliveries_due(now=now).exclude(pick.paused).exclude(target_origin__in=full)
    return list(
        without_accounts(due, exclude_accounts)
        .exclude(id__in=pick.picked)
        .order_by("next_attempt_at")
        .values_list("id", "owner_id", "target_origin")[:window]
    )


def without_accounts(deliveries, accounts: Collection[int | None]):
    """``deliveries`` less those of ``accounts``, where None stands for the operators' alerts (of
    no account): they are left out only when it is listed (``pick_sql.due_candidates`` alike)."""
    ids = [account for account in accounts if account is not None]
    if ids:
        deliveries = deliveries.exclude(owner_id__in=ids)
    if None in accounts:
        deliveries = deliveries.exclude(owner__isnull=True)
    return deliveries


def _allocate(pick: _Pick, candidates: list[tuple]) -> bool:
    """Water-fill: the next slot to the account with the fewest sends in flight (in this dispatcher,
    then in all); whether the pick is over (free slots and shares filled)."""
    queues: dict[int, deque] = {}
    for delivery_id, owner_id, origin in candidates:  # oldest first, per account
        queues.setdefault(owner_id, deque()).append((delivery_id, origin))
    pick.accounts |= set(queues)
    while queues and pick.own_total < 2 * pick.slots:
        owner_id = min(queues, key=lambda o: (pick.own_account[o], pick.account_in_flight[o]))
        if pick.done(owner_id):
            return True  # no slot is free, and every account left has its share
        delivery_id, origin = queues[owner_id].popleft()
        if not queues[owner_id]:
            del queues[owner_id]
        if pick.origin_full(origin):
            pick.capped = True
        else:
            pick.take(delivery_id, owner_id, origin)
    return bool(queues)


@dataclass
class Picked:
    ids: list[str]
    capped: bool  # an origin at its cap was left out: once its sends end, it has room again


def deliveries_to_send(
    *, now, limit: int, held: Iterable[Holding] = (), slots: int | None = None
) -> list[str]:
    """``deliveries_pick``'s ids."""
    return deliveries_pick(now=now, limit=limit, held=held, slots=slots).ids


def deliveries_pick(
    *,
    now,
    limit: int,
    held: Iterable[Holding] = (),
    slots: int | None = None,
    answered: Callable[[], Iterable[Holding]] = list,
) -> Picked:
    """Due delivery ids to send now, oldest due first within each account, within the caps and shares.

    ``limit``: the dispatcher's free slots; ``held``: its sends in flight, as
    (account, origin) pairs; ``slots``: all its slots; ``answered``: returns its sends
    answered but not recorded yet (still leased, which the count of sends in
    flight across all workers reads, but no longer at the receiver), called
    after that count. Up to ``limit`` ids,
    plus, for an account holding less than its share of ``slots`` while no
    slot is free, as many as bring it to its share. An origin may hold at most
    ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` sends in flight across all workers
    (sent and not yet answered) and half of this dispatcher's slots.
    ``capped`` says whether an origin at its cap was left out.
    """
    slots = slots or settings.CALLBACK_SENDS_IN_FLIGHT
    pick = _Pick(now=now, limit=limit, slots=slots, held=held, answered=answered)
    for _ in range(PICK_PASSES):
        if pick.free() <= 0 and not pick.full():
            break  # as many as asked for
        # Full origins and accounts that can take nothing more are left out in the
        # query: their deliveries are often the oldest due ones, and must not crowd
        # everybody else out of the candidates.
        window = min(
            MAX_CANDIDATES, max(pick.free(), slots // 2 // CANDIDATES_PER_SLOT) * CANDIDATES_PER_SLOT
        )
        satisfied = pick.satisfied()
        candidates = _candidates(pick, now=now, window=window, exclude_accounts=satisfied)
        looked_at_all = len(candidates) < window
        if not looked_at_all:
            # One account's backlog may fill the window: look past it for other
            # accounts' work, which is owed its share.
            seen = satisfied | {owner_id for _, owner_id, _ in candidates}
            candidates += _candidates(pick, now=now, window=window, exclude_accounts=seen)
        if _allocate(pick, candidates) or looked_at_all:
            break
    return Picked(ids=pick.picked, capped=pick.capped)
