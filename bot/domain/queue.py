"""The upload line: at most `concurrency` requests to MusicAPI at once; the rest wait their turn, taken
round-robin across members (the member served least recently goes first), so that one member's message
of five files does not hold everyone behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: Tells the owner of waiting uploads their place in line (1 is next) and the expected wait in seconds.
OnPlace = Callable[[int, float], Awaitable[None]]

#: How often the line is looked at, how often one owner hears of a new place at most (edits of one
#: interaction share a rate limit at Discord), and how many owners hear of it per look.
TICK = 1.0
PLACE_EVERY = 5.0
PLACES_PER_TICK = 50
#: How strongly the newest turn counts in the average length of a turn (for the expected wait).
SMOOTHING = 0.2


@dataclass(eq=False)
class _Ticket:
    member: int
    owner: Hashable
    granted: asyncio.Future[None]


@dataclass(eq=False)
class _Watcher:
    on_place: OnPlace
    tickets: int = 0
    shown: int | None = None
    shown_at: float = -math.inf


@dataclass
class _Turns:
    """The average length of a turn, learnt from the turns taken (or told, see `learn`)."""

    typical: float
    average: float = field(init=False)
    taken: int = field(default=0)
    known: bool = field(default=False)  # the average is a measurement, not the typical figure

    def __post_init__(self) -> None:
        self.average = self.typical

    def add(self, seconds: float) -> None:
        """The first turn measured replaces the assumed typical one; later ones move the average."""
        self.average = self.average + SMOOTHING * (seconds - self.average) if self.known else seconds
        self.known = True
        self.taken += 1

    def learn(self, seconds: float | None) -> None:
        """Go by a figure measured elsewhere, as if measured here (None: the typical one again)."""
        self.average, self.known = (self.typical, False) if seconds is None else (seconds, True)


class UploadQueue:
    """A fair line in front of MusicAPI. `admit` reserves places (refusing one whose expected wait runs
    past what its upload may wait, or past `capacity` waiting, a bound on memory), `turn` waits for one
    request's turn and holds it until the request is done."""

    def __init__(
        self,
        *,
        concurrency: int,
        capacity: int,
        typical_turn: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrency = concurrency
        self.capacity = capacity
        self._free = concurrency
        self._admitted = 0  # places reserved by `admit` whose request has not had its turn yet
        self._lines: dict[int, deque[_Ticket]] = {}  # each waiting member's requests, in arrival order
        self._served: dict[int, int] = {}  # member -> when (a turn count) they were last given a turn
        self._serial = 0
        self._watchers: dict[Hashable, _Watcher] = {}
        self._turns = _Turns(typical_turn)
        self._share = concurrency  # the requests at once this line will have (see `expect`)
        #: What turns are timed with, and places shown by (monotonic seconds; a test may hand in its own).
        self.clock = clock
        self._monitor: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    @property
    def in_flight(self) -> int:
        return self.concurrency - self._free

    def admit(self, count: int, within: float = math.inf) -> bool:
        """Reserve `count` places, or none: when the last of them would wait longer than `within` seconds
        for its turn (`expected_wait`), or more than `capacity` requests would then wait."""
        last = self._admitted + count - self._free
        if last > self.capacity or self.expected_wait(last) > within:
            return False
        self._admitted += count
        return True

    def wait_for(self, count: int) -> float:
        """The expected wait of the last of `count` requests that joined the line now (0: no wait)."""
        return self.expected_wait(self._admitted + count - self._free)

    def forfeit(self, count: int = 1) -> None:
        """Give back places reserved by `admit` that will not take a turn."""
        self._admitted = max(self._admitted - count, 0)

    @property
    def pace(self) -> float:
        """How long a turn at MusicAPI takes: measured on the turns taken (the typical one until then)."""
        return self._turns.average

    @property
    def measured(self) -> int:
        """How many turns this line has measured: when it moves, `pace` moved by a measurement made here."""
        return self._turns.taken

    def learn(self, pace: float | None) -> None:
        """Go by a pace measured elsewhere (an earlier run, other instances) until turns here move it; None:
        back to the typical turn."""
        self._turns.learn(pace)

    def expect(self, share: int) -> None:
        """This line's share of the deployment's requests at once, as it stands or as it will be once the
        other instances have handed it over: what the expected wait counts on."""
        self._share = share

    def expected_wait(self, place: int) -> float:
        """Seconds until the request at `place` (1 is next; 0 or less: none waits) gets its turn, at the
        measured pace, with the requests at once this line has or is about to have."""
        if place <= 0:
            return 0.0
        return math.ceil(place / max(self.concurrency, self._share, 1)) * self._turns.average

    def turn(
        self,
        member: int,
        owner: Hashable | None = None,
        on_place: OnPlace | None = None,
        *,
        within: float | None = None,
    ) -> _Turn:
        """`async with line.turn(member):` waits for a turn (one reserved place is used), holds it for
        the block, then passes it on.

        `owner` groups the requests of one answer (an interaction): `on_place` hears that group's best
        place while any of them waits, at a pace Discord's rate limits allow. Waiting longer than
        `within` seconds raises TimeoutError (the place is given up).
        """
        return _Turn(self, member, owner, on_place, within)

    async def _take(
        self, member: int, owner: Hashable | None, on_place: OnPlace | None, within: float | None
    ) -> float:
        """Take a turn, waiting for it if need be; when it began."""
        if self._free > 0 and not self._lines:
            self._free -= 1
            self.forfeit()
            self._mark_served(member)
        else:
            async with asyncio.timeout(within):
                await self._wait(member, owner, on_place)
        return self.clock()

    def _give_back(self, started: float) -> None:
        self._turns.add(self.clock() - started)
        self._pass_on()

    async def _wait(self, member: int, owner: Hashable | None, on_place: OnPlace | None) -> None:
        ticket = _Ticket(
            member, owner if owner is not None else object(), asyncio.get_running_loop().create_future()
        )
        self._lines.setdefault(member, deque()).append(ticket)
        if on_place is not None:
            watcher = self._watchers.setdefault(ticket.owner, _Watcher(on_place))
            watcher.tickets += 1
        self._start_monitor()
        try:
            await ticket.granted
        except asyncio.CancelledError:
            if ticket.granted.done() and not ticket.granted.cancelled():
                self._pass_on()  # granted as it was cancelled: the turn goes to the next one
            else:
                self._leave(ticket)
            raise
        finally:
            self._unwatch(ticket.owner)

    def _leave(self, ticket: _Ticket) -> None:
        line = self._lines.get(ticket.member)
        if line is not None and ticket in line:
            line.remove(ticket)
            if not line:
                del self._lines[ticket.member]
        self.forfeit()

    def _unwatch(self, owner: Hashable) -> None:
        watcher = self._watchers.get(owner)
        if watcher is not None:
            watcher.tickets -= 1
            if watcher.tickets <= 0:
                del self._watchers[owner]

    def _mark_served(self, member: int) -> None:
        self._serial += 1
        self._served[member] = self._serial
        if len(self._served) > 2 * (len(self._lines) + self.concurrency):
            # Only the order among waiting members matters; one who waits no more may be forgotten
            # (coming back, they count as served long ago, which they were).
            self._served = {m: at for m, at in self._served.items() if m in self._lines or at == self._serial}

    def _round(self) -> list[int]:
        """Waiting members in the order the round-robin serves them: least recently served first
        (never served counts as longest ago), then by arrival."""
        return sorted(self._lines, key=lambda member: self._served.get(member, 0))

    def _pass_on(self) -> None:
        """A turn ended: the member served least recently gets it, or it stays free (or, when the line
        has more turns out than its concurrency since `resize`, it ends)."""
        if self._free < 0:
            self._free += 1
            return
        if not self._grant_next():
            self._free = min(self._free + 1, self.concurrency)

    def _grant_next(self) -> bool:
        """Give a turn to the member served least recently; False when nobody waits."""
        while self._lines:
            member = self._round()[0]
            line = self._lines[member]
            ticket = line.popleft()
            if not line:
                del self._lines[member]
            if ticket.granted.cancelled():
                continue
            self.forfeit()
            self._mark_served(member)
            ticket.granted.set_result(None)
            return True
        return False

    def resize(self, concurrency: int) -> None:
        """Allow `concurrency` requests at once from now on (this instance's share of the deployment's).
        Growing lets waiting requests go at once; shrinking lets turns already out finish first."""
        in_flight = self.concurrency - self._free
        self.concurrency = concurrency
        self._free = concurrency - in_flight
        while self._free > 0 and self._grant_next():
            self._free -= 1

    def places(self) -> dict[Hashable, int]:
        """Each owner's best place in line (1 is next), as the round-robin will serve them."""
        best: dict[Hashable, int] = {}
        place = 0
        lines = [self._lines[member] for member in self._round()]
        for depth in range(max((len(line) for line in lines), default=0)):
            for line in lines:
                if depth < len(line):
                    place += 1
                    best.setdefault(line[depth].owner, place)
        return best

    # -- telling members their place -----------------------------------------------------------------

    def _start_monitor(self) -> None:
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.create_task(self._watch(), name="upload-line")

    async def _watch(self) -> None:
        """While anyone waits: every TICK, tell owners their place (at the start too, so that a new
        line is shown at once)."""
        while self._lines:
            try:
                await self.tell_places()
            except Exception:
                log.exception("telling members their place in line failed")
            await asyncio.sleep(TICK)

    async def tell_places(self) -> None:
        """Tell owners whose place changed (new ones first); each at most every PLACE_EVERY seconds."""
        now = self.clock()
        due: list[tuple[int, _Watcher]] = []
        for owner, place in self.places().items():
            watcher = self._watchers.get(owner)
            if watcher is None or watcher.shown == place:
                continue
            if watcher.shown is None or now - watcher.shown_at >= PLACE_EVERY:
                due.append((place, watcher))
        due.sort(key=lambda item: (item[1].shown is not None, item[0]))
        told = due[:PLACES_PER_TICK]
        for place, watcher in told:
            watcher.shown, watcher.shown_at = place, now
        results = await asyncio.gather(
            *(w.on_place(place, self.expected_wait(place)) for place, w in told), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                log.warning("could not show a place in line (%s)", type(result).__name__)

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None


class _Turn:
    """One turn in the line, as an async context manager (see `UploadQueue.turn`)."""

    __slots__ = ("_line", "_member", "_on_place", "_owner", "_started", "_within")

    def __init__(
        self,
        line: UploadQueue,
        member: int,
        owner: Hashable | None,
        on_place: OnPlace | None,
        within: float | None,
    ) -> None:
        self._line, self._member, self._owner = line, member, owner
        self._on_place, self._within = on_place, within
        self._started = 0.0

    async def __aenter__(self) -> None:
        self._started = await self._line._take(self._member, self._owner, self._on_place, self._within)

    async def __aexit__(self, *_: object) -> None:
        self._line._give_back(self._started)
