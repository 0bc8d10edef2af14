"""The delivery engine: claims due outbox events in batches and POSTs them, one task per stream.

- Independence: each event is retried on its own with its own back-off (as Meta and Stripe do); a receiver
  refusing one event never holds back the others, even those of the same phone number.
- Order where it matters: a stream is the events of one order key (a message's statuses), delivered strictly
  in id order, one POST at a time; a failing status holds back only the later statuses of the same message
  until it is delivered or dead, so a receiver never gets `sent` after `delivered`. Any other event is a
  stream of its own.
- Isolation: a slow or failing endpoint only ever occupies its own streams, at most `max_per_account` slots
  per business account and `max_per_target` per URL of the global `max_concurrency`, each POST for at most
  `deadline_s` (answer included). The claim loop never waits on HTTP.
- Throughput: one claim unit leases up to `claim_batch` events; outcomes are written in batches; one
  aiohttp session keeps connections alive (transport.py). An idle loop only reads (one indexed probe per poll).
- At least once: an event is leased (its `next_attempt_at` becomes the lease expiry) before it is sent and
  marked only after the receiver answered; a crashed process's events come back when their leases expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection

from parley.kit.clock import Clock
from parley.kit.ids import IdGenerator
from parley.platform.db import Database
from parley.webhooks import repository
from parley.webhooks.models import DEAD, DELIVERED, PENDING
from parley.webhooks.repository import AttemptResult, ClaimedEvent, StreamKey
from parley.webhooks.signing import envelope_body, signed_headers
from parley.webhooks.transport import DeliveryClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    poll_interval_s: float = 0.05
    claim_batch: int = 500
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 3600.0
    max_age_s: float = 7 * 24 * 3600.0
    max_concurrency: int = 256
    max_per_target: int = 16
    max_per_account: int = 32
    deadline_s: float = 15.0
    stream_queue: int = 1000
    lease_s: float = 300.0
    contention_delay_s: float = 0.25
    max_result_batch: int = 1000


@dataclass
class _Stream:
    key: StreamKey
    queue: deque[ClaimedEvent] = field(default_factory=deque)
    tail: int = 0
    task: asyncio.Task[None] | None = None


class _ResultWriter:
    """Collects POST outcomes from every stream task and writes them in few units, in order."""

    def __init__(self, db: Database, owner: int, max_batch: int) -> None:
        self._db = db
        self._owner = owner
        self._max_batch = max_batch
        self._pending: list[AttemptResult] = []
        self._pending_done: asyncio.Future[None] | None = None
        self._inflight_done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, result: AttemptResult) -> None:
        if self._pending_done is None:
            self._pending_done = asyncio.get_running_loop().create_future()
        self._pending.append(result)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_all())

    async def _flush_all(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            self._pending = self._pending[self._max_batch :]
            done: asyncio.Future[None] | None = None
            if not self._pending:  # the last chunk: whoever waits for the lot is released after it
                done, self._pending_done = self._pending_done, None
                self._inflight_done = done
            try:
                await self._db.write(
                    "webhooks.record_attempts",
                    partial(repository.record_attempts, results=batch, owner=self._owner),
                    urgent=True,
                )
            except Exception:  # the events stay leased and come back when the leases expire
                log.exception("could not record %d webhook attempts", len(batch))
            finally:
                if done is not None:
                    self._inflight_done = None
                    if not done.done():
                        done.set_result(None)

    async def barrier(self) -> None:
        """Return once every outcome added so far is written."""
        waiting = self._pending_done or self._inflight_done
        if waiting is not None:
            await asyncio.shield(waiting)


class _AfterProbe:
    """Answers "has this ordered stream more pending past its tail?" for every stream that ends meanwhile in one
    read: streams finish in bursts (a result batch lands), and a read each cost more than their POSTs."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._asked: dict[int, tuple[int, list[asyncio.Future[bool]]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def has_more(self, order_key: int, tail: int) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        asked = self._asked.get(order_key)
        if asked is None:
            self._asked[order_key] = (tail, [future])
        else:  # one stream per key, but keep the lower tail should two ever ask: it can only find more
            self._asked[order_key] = (min(asked[0], tail), [*asked[1], future])
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._answer_all())
        return await future

    async def _answer_all(self) -> None:
        while self._asked:
            asked, self._asked = self._asked, {}
            try:
                found = await self._db.read(
                    partial(repository.order_keys_with_more, tails={key: tail for key, (tail, _) in asked.items()})
                )
            except Exception as exc:
                for _tail, futures in asked.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for key, (_tail, futures) in asked.items():
                for future in futures:
                    if not future.done():
                        future.set_result(key in found)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class DeliveryEngine:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        policy: DeliveryPolicy,
        client: DeliveryClient,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._policy = policy
        self._client = client
        self._rng = rng or random.Random()
        self.owner = secrets.randbits(62)
        self._streams: dict[StreamKey, _Stream] = {}
        self._lock = asyncio.Lock()  # claim passes and stream hand-backs: the held map stays consistent
        self._wake = asyncio.Event()
        self._global = asyncio.Semaphore(policy.max_concurrency)
        self._per_target: dict[str, asyncio.Semaphore] = {}
        self._per_account: dict[int, asyncio.Semaphore] = {}
        self._results = _ResultWriter(db, self.owner, policy.max_result_batch)
        self._after = _AfterProbe(db)
        self._loop_task: asyncio.Task[None] | None = None
        self._closing = False

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="parley-webhook-delivery")

    def notify(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        tasks = [s.task for s in self._streams.values() if s.task is not None]
        if self._loop_task is not None:
            self._loop_task.cancel()
            tasks.append(self._loop_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._after.close()
        await self._results.barrier()
        held = [event.id for stream in self._streams.values() for event in stream.queue]
        self._streams.clear()
        if held:
            # Hand them back at once rather than when the lease runs out: another process takes over.
            with contextlib.suppress(Exception):
                await self._db.write(
                    "webhooks.release",
                    partial(repository.release, event_ids=held, owner=self.owner, until=self._clock.now_ms()),
                    urgent=True,
                )

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._policy.poll_interval_s)
            self._wake.clear()
            try:
                if await self._claim_pass():
                    self._wake.set()  # the batch was full: more is due
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook claim failed")
                await asyncio.sleep(1)

    async def deliver_due_now(self) -> None:
        """Claim and deliver everything due now, and wait until it is delivered or rescheduled."""
        while True:
            full = await self._claim_pass()
            while tasks := [s.task for s in self._streams.values() if s.task is not None and not s.task.done()]:
                await asyncio.gather(*tasks, return_exceptions=True)
            await self._results.barrier()
            if not full:
                return

    # ------------------------------------------------------------------------------------------ claiming

    async def _claim_pass(self) -> bool:
        policy = self._policy
        async with self._lock:
            if self._closing:
                return False
            now = self._clock.now_ms()
            # A read first: an idle poll never takes the (SQLite: single) writer.
            if not await self._db.read(partial(repository.has_due, now=now)):
                return False
            tails = {key: stream.tail for key, stream in self._streams.items()}
            room = {key: max(0, policy.stream_queue - len(stream.queue)) for key, stream in self._streams.items()}
            outcome = await self._db.write(
                "webhooks.claim_due",
                partial(
                    repository.claim_due,
                    now=now,
                    limit=policy.claim_batch,
                    owner=self.owner,
                    lease_until=now + int(policy.lease_s * 1000),
                    contention_until=now + int(policy.contention_delay_s * 1000),
                    tails=tails,
                    room=room,
                    stream_queue=policy.stream_queue,
                ),
                urgent=True,
            )
            for event in outcome.accepted:
                stream = self._streams.get(event.stream)
                if stream is None:
                    stream = self._streams[event.stream] = _Stream(event.stream)
                stream.queue.append(event)
                stream.tail = event.id
                if stream.task is None:
                    stream.task = asyncio.create_task(self._run_stream(stream))
            return outcome.full

    # ------------------------------------------------------------------------------------------ sending

    async def _run_stream(self, stream: _Stream) -> None:
        try:
            await self._drain(stream)
        except asyncio.CancelledError:
            raise
        except Exception:  # e.g. the database went away: give the stream back, another pass retries it
            log.exception("webhook stream %s failed", stream.key)
            async with self._lock:
                held = [event.id for event in stream.queue]
                stream.queue.clear()
                if self._streams.get(stream.key) is stream:
                    del self._streams[stream.key]
            until = self._clock.now_ms() + int(self._policy.contention_delay_s * 1000)
            with contextlib.suppress(Exception):
                await self._db.write(
                    "webhooks.release",
                    partial(repository.release, event_ids=held, owner=self.owner, until=until),
                    urgent=True,
                )

    async def _drain(self, stream: _Stream) -> None:
        while True:
            while stream.queue:
                result = await self._attempt(stream)
                if result is None:  # its leases ran out while it waited for a slot: another process has it
                    async with self._lock:
                        del self._streams[stream.key]
                    return
                if result.state == PENDING:
                    await self._hand_back(stream, result)
                    return
                stream.queue.popleft()
                self._results.add(result)
            await self._results.barrier()
            # Asked outside the lock, so the streams that end together share one read. A claim pass that adds to
            # this stream meanwhile leaves its queue non-empty (looked at below); an event that queues up after
            # the read is claimed by the next pass like any other.
            more = (
                stream.key[0] == repository.ORDERED
                and not self._closing
                and await self._after.has_more(stream.key[1], stream.tail)
            )
            async with self._lock:
                if stream.queue or (more and await self._pull(stream)):
                    continue
                del self._streams[stream.key]
                return

    async def _pull(self, stream: _Stream) -> bool:
        """Before letting a stream go, take what queued up behind it meanwhile (another process may have put
        it off because this one held the stream): called when the probe found some."""
        if self._closing:
            return False
        now = self._clock.now_ms()
        accepted, progressed = await self._db.write(
            "webhooks.claim_after",
            partial(
                repository.claim_after,
                key=stream.key,
                tail=stream.tail,
                now=now,
                limit=self._policy.stream_queue,
                owner=self.owner,
                lease_until=now + int(self._policy.lease_s * 1000),
            ),
            urgent=True,
        )
        for event in accepted:
            stream.queue.append(event)
            stream.tail = event.id
        return progressed

    async def _hand_back(self, stream: _Stream, failed: AttemptResult) -> None:
        """The head failed: record it and release the whole stream until its retry time."""
        async with self._lock:
            await self._results.barrier()
            rest = [event.id for event in stream.queue if event.id != failed.event_id]
            stream.queue.clear()

            def unit(conn: Connection) -> None:
                repository.record_attempts(conn, [failed], owner=self.owner)
                repository.release(conn, rest, owner=self.owner, until=failed.next_attempt_at)

            try:
                await self._db.write("webhooks.hand_back", unit, urgent=True)
            except Exception:  # the leases run out and the events come back
                log.exception("could not record a failed webhook attempt")
            del self._streams[stream.key]

    async def _renew_if_needed(self, stream: _Stream) -> bool:
        """Extend the stream's leases when half gone; False when some ran out and another process took them
        (then the stream is given up here: that process sends it, in order)."""
        now = self._clock.now_ms()
        lease_ms = int(self._policy.lease_s * 1000)
        head = stream.queue[0]
        if head.lease_until - now > lease_ms // 2:
            return True
        lease_until = now + lease_ms
        ids = [event.id for event in stream.queue]
        kept = await self._db.write(
            "webhooks.renew_leases",
            partial(repository.renew_leases, event_ids=ids, owner=self.owner, lease_until=lease_until),
            urgent=True,
        )
        if len(kept) < len(ids):
            stream.queue.clear()
            await self._db.write(
                "webhooks.release",
                partial(repository.release, event_ids=kept, owner=self.owner, until=now),
                urgent=True,
            )
            return False
        for event in stream.queue:
            event.lease_until = lease_until
        return True

    def _target_slot(self, url: str) -> asyncio.Semaphore:
        return _slot(self._per_target, url, self._policy.max_per_target)

    def _account_slot(self, waba_id: int) -> asyncio.Semaphore:
        return _slot(self._per_account, waba_id, self._policy.max_per_account)

    async def _attempt(self, stream: _Stream) -> AttemptResult | None:
        """POST the stream's head; None when its lease ran out while it waited for a slot."""
        event = stream.queue[0]
        body = envelope_body(event.waba_id, event.field, event.value_json, event.created_at)
        headers = signed_headers(event.app_secret, body)
        status: int | None = None
        error: str | None = None
        # The account's slot first: a tenant whose receivers are slow queues behind itself, not the others.
        async with self._account_slot(event.waba_id), self._target_slot(event.url), self._global:
            # Renewed once it holds its slots: an event may wait long behind its account's others.
            if not await self._renew_if_needed(stream):
                return None
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._policy.deadline_s):  # a dripping answer cannot hold the slot
                    status = await self._client.post(event.url, body, headers)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except Exception as exc:  # network errors, a refused address, a URL aiohttp refuses: all failed attempts
                if type(exc) is TimeoutError:  # the deadline (aiohttp's own timeouts are subclasses, named below)
                    error = f"no complete answer within {self._policy.deadline_s:g} s"
                else:
                    error = f"{type(exc).__name__}: {exc}"[:1000] if str(exc) else type(exc).__name__
            latency_ms = int((time.perf_counter() - started) * 1000)
        now = self._clock.now_ms()
        state, next_attempt_at = DELIVERED, now
        if error is not None:
            state, next_attempt_at = self._after_failure(event, now)
        return AttemptResult(
            attempt_id=self._ids.next_id(),
            event_id=event.id,
            waba_id=event.waba_id,
            url=event.url,
            status_code=status,
            error=error,
            latency_ms=latency_ms,
            attempted_at=now,
            state=state,
            next_attempt_at=next_attempt_at,
        )

    def _after_failure(self, event: ClaimedEvent, now: int) -> tuple[str, int]:
        """Exponential back-off with full jitter, until the retry window (7 days) is over: then dead."""
        policy = self._policy
        bound = backoff_bound_s(policy, event.attempts + 1)
        retry_at = now + int(self._rng.uniform(0, bound) * 1000)
        if retry_at > event.retry_from + int(policy.max_age_s * 1000):
            return DEAD, now
        return PENDING, retry_at

    @property
    def held_streams(self) -> int:
        return len(self._streams)


def _slot(slots: dict[Any, asyncio.Semaphore], key: Any, size: int) -> asyncio.Semaphore:
    slot = slots.get(key)
    if slot is None:
        if len(slots) > 10_000:  # forget idle ones (keeps the map bounded; a busy slot stays)
            for idle in [k for k, s in slots.items() if not s.locked()]:
                del slots[idle]
        slot = slots[key] = asyncio.Semaphore(size)
    return slot


def backoff_bound_s(policy: DeliveryPolicy, attempt: int) -> float:
    """The longest wait before retry number `attempt` (1 = after the first failure)."""
    return min(policy.backoff_cap_s, policy.backoff_base_s * float(2 ** min(attempt - 1, 30)))
