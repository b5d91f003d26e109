"""The whole Redis schema: every key, stream, channel and Lua script seatgate uses.

Per-product keys share the hash tag ``{<product>}`` so that each product lives in one
Redis Cluster slot and the Lua scripts below (which touch several keys of one product)
run on Cluster. Keys that belong to no product use the tag ``{global}``.

Seat states of a managed user, per product (a user is in at most one of them):

    granting  — a seat is reserved, the directory add is under way
    licensed  — in the licence group
    revoking  — being removed; still occupies a seat until the directory confirms

The cap counts all three, so a seat is never handed out twice, whichever worker or
proxy asks and whatever crashes in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seatgate.protocol import Event

__all__ = ["Event"]  # defined with the messages, in seatgate.protocol

PREFIX = "sg"
GROUP = "workers"  # consumer group of every grant stream


@dataclass(frozen=True, slots=True)
class ProductKeys:
    """Key names of one product. Build once per product and reuse.

    With ``shadow`` set (``mode = "shadow"``) the seat state — seat states, cap, queue,
    holds, in-flight markers, grant stream, events — lives under ``sg:{<product>}:shadow:``
    instead: a would-be state that nothing in enforce mode reads, so that nothing recorded
    in shadow mode can pass for a real grant after the switch. What the proxies observe
    (activity, identities, upstream seat figures) and the audit stream are shared.
    """

    product: str
    shadow: bool = False

    def _k(self, name: str) -> str:
        return f"{PREFIX}:{{{self.product}}}:{name}"

    def _seat(self, name: str) -> str:
        return self._k(f"shadow:{name}" if self.shadow else name)

    @property
    def mode(self) -> str:
        return "shadow" if self.shadow else "enforce"

    # seat states: HASH user → epoch seconds when the state was entered
    @property
    def licensed(self) -> str:
        return self._seat("licensed")

    @property
    def granting(self) -> str:
        return self._seat("granting")

    @property
    def revoking(self) -> str:
        return self._seat("revoking")

    # ZSET user → epoch seconds of the last real activity
    @property
    def activity(self) -> str:
        return self._k("activity")

    # ZSET user → epoch seconds until which the user is kept licensed (grant API holds)
    @property
    def holds(self) -> str:
        return self._seat("holds")

    # STRING: effective seat cap for managed users; absent means no cap known yet
    @property
    def cap(self) -> str:
        return self._seat("cap")

    # HASH: seat figures from the upstream licence and when they were read
    @property
    def seat_info(self) -> str:
        return self._k("seatinfo")

    # SET: users never granted nor revoked (exclude_users plus members of exclude_groups)
    @property
    def excluded(self) -> str:
        return self._k("excluded")

    # ZSET user → epoch seconds of arrival: users waiting for a free seat (FIFO)
    @property
    def queue(self) -> str:
        return self._seat("queue")

    # ZSET user → epoch seconds the user last asked (a waiting page retries); users who
    # stop asking leave the queue
    @property
    def queue_seen(self) -> str:
        return self._seat("queue:seen")

    # STRING with TTL: one grant in flight per user across all proxies
    def inflight(self, user: str) -> str:
        return self._seat(f"inflight:{user}")

    # STREAM of protocol.GrantRequest entries (grants, and rollbacks when upstream rejected
    # the credentials a grant was just made for), read by the consumer group GROUP; about
    # protocol.GRANT_STREAM_MAXLEN entries are kept.
    @property
    def grants(self) -> str:
        return self._seat("grants")

    # STRING counter with TTL (claim_cooldown, renewed by each rejection): upstream rejected
    # claimed credentials for user this many times; while it exists no proxy grants a claim
    # for user before upstream has checked it
    def claim_rejected(self, user: str) -> str:
        return self._k(f"claim:rejected:{user}")

    # STREAM of every grant and revoke (reason, latency, source); capped
    @property
    def audit(self) -> str:
        return self._k("audit")

    # STRING with TTL: keyed hash of a cookie/token/credential → username
    def identity(self, digest: str) -> str:
        return self._k(f"id:{digest}")

    # pub/sub channel: grant results and seat changes (protocol.GrantEvent as JSON)
    @property
    def events(self) -> str:
        return self._seat("events")

    # HASH: most seats held at once and when (peak, peak_at), since the run began (since);
    # kept for the would-be state of a shadow product
    @property
    def peak(self) -> str:
        return self._seat("peak")

    # STRING: epoch seconds up to which the activity ZSET has been read by the live
    # observers (would-be grants, what-if timelines); each reads from here on
    def watermark(self, reader: str) -> str:
        return self._k(f"watermark:{reader}")

    # STRING (JSON): the application role's groups before `seatgate setup --apply` changed
    # them, which `seatgate setup --revert` restores; never overwritten while it exists
    @property
    def setup_snapshot(self) -> str:
        return self._k("setup:snapshot")

    # HASH: live what-if, per inactivity in seconds: "<s>:peak", "<s>:peak_at", "<s>:now",
    # plus "since" (when the observation began)
    @property
    def whatif(self) -> str:
        return self._k("whatif")

    # LIST of recent request lines, newest first, capped at REQUEST_SAMPLE_MAXLEN: JSON
    # {"m": method, "p": path, "q": [query parameter names], "v": verdict, "t": epoch
    # seconds, "u": keyed hash of the user when known}. Never a user name, cookie, token
    # or query value: it measures the blast radius of a rules edit (seatgate/rules/sample.py)
    @property
    def request_sample(self) -> str:
        return self._k("sample:requests")

    # STRING with TTL (worker.takeover_after), refreshed by the worker whose consumer name
    # it carries several times per TTL: while it exists that consumer of the grant stream
    # is alive, and nobody takes its pending entries. Per product (not global) so that
    # TAKE_OVER can check it and claim the stream entries atomically on Redis Cluster.
    def alive(self, consumer: str) -> str:
        return self._k(f"alive:{consumer}")


class GlobalKeys:
    # STRING with TTL: the worker that currently runs the sweeper and reconciler
    sweeper_lease = f"{PREFIX}:{{global}}:lease:sweeper"
    # HASH: current rules document and its version
    rules = f"{PREFIX}:{{global}}:rules"
    # HASH: version → rules document (for rollback)
    rules_history = f"{PREFIX}:{{global}}:rules:history"
    # STREAM: who changed the rules, when, before/after
    rules_audit = f"{PREFIX}:{{global}}:rules:audit"
    # pub/sub channel: a new rules version was saved (message: the version)
    rules_changed = f"{PREFIX}:{{global}}:rules:changed"


AUDIT_MAXLEN = 100_000
# Request lines kept per product in ProductKeys.request_sample (about 100 bytes each).
REQUEST_SAMPLE_MAXLEN = 5_000


@dataclass(frozen=True)
class LuaScript:
    """A Lua script whose KEYS and ARGV are named, as arq names its scripts' arguments.

    The body refers to them by name: :attr:`source` starts with ``local <name> = KEYS[i]``
    (then ``ARGV[i]``) for each, so no positional index has to match a comment. Callers
    pass them by name through :meth:`bind`. ``rest`` names a variable tail of ARGV after
    the named ones, passed as a sequence; the body reads it from ``ARGV`` at ``<rest>_from``.
    """

    name: str
    keys: tuple[str, ...]
    args: tuple[str, ...]
    body: str
    rest: str | None = None

    def __post_init__(self) -> None:
        names = [*self.keys, *self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a name is used twice in {names}")

    @property
    def source(self) -> str:
        prelude = [f"local {name} = KEYS[{i}]" for i, name in enumerate(self.keys, 1)]
        prelude += [f"local {name} = ARGV[{i}]" for i, name in enumerate(self.args, 1)]
        if self.rest:
            prelude.append(f"local {self.rest}_from = {len(self.args) + 1}")
        return "\n".join(prelude) + "\n" + self.body

    def bind(self, client: Any) -> BoundScript:
        return BoundScript(self, client.register_script(self.source))


class BoundScript:
    """A :class:`LuaScript` registered with one Redis client (its SHA cached by redis-py)."""

    __slots__ = ("_registered", "script")

    def __init__(self, script: LuaScript, registered: Any) -> None:
        self.script = script
        self._registered = registered

    async def __call__(self, rest: Sequence[Any] = (), **named: Any) -> Any:
        script = self.script
        if len(named) != len(script.keys) + len(script.args) or not all(
            name in named for name in (*script.keys, *script.args)
        ):
            expected = sorted((*script.keys, *script.args))
            raise TypeError(f"{script.name}: takes {expected} by name, got {sorted(named)}")
        if rest and not script.rest:
            raise TypeError(f"{script.name}: takes no variable arguments")
        keys = [named[name] for name in script.keys]
        args = [named[name] for name in script.args]
        return await self._registered(keys=keys, args=[*args, *rest])


# --- Lua scripts -------------------------------------------------------------------
# Each returns a short status string. Their KEYS and ARGV are named (LuaScript below): the
# body uses the names, and callers pass them by name.

# Proxy: ask for a grant unless the user is licensed or a grant is already in flight. The
# stream entry's fields follow the named ARGV as name, value pairs (``rest``): their format
# is protocol.GrantRequest.to_fields.
REQUEST_GRANT = LuaScript(
    "request_grant",
    keys=("licensed", "inflight", "grants"),
    args=("user", "request_id", "inflight_ttl_ms", "maxlen"),
    rest="fields",
    body="""
if redis.call('HEXISTS', licensed, user) == 1 then return 'licensed' end
if redis.call('SET', inflight, request_id, 'NX', 'PX', inflight_ttl_ms) == false then return 'pending' end
redis.call('XADD', grants, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, fields_from))
return 'queued'
""",
)

# Worker: reserve a seat for user, atomically against the cap. 'resumed' means the seat was
# already reserved (by a worker that died, or another grant of the same user under way):
# its directory add may have landed, so the caller checks the membership first. Waiting users are served
# first come, first served: while the queue is not empty, only the first `free` users in
# it may take a seat, so a newcomer cannot overtake someone who waited.
RESERVE_SEAT = LuaScript(
    "reserve_seat",
    keys=("licensed", "granting", "revoking", "cap", "queue"),
    args=("user", "now"),
    body="""
if redis.call('HEXISTS', licensed, user) == 1 then return 'licensed' end
if redis.call('HEXISTS', revoking, user) == 1 then return 'revoking' end
if redis.call('HEXISTS', granting, user) == 1 then return 'resumed' end
local cap_value = redis.call('GET', cap)
if cap_value then
  local used = redis.call('HLEN', licensed) + redis.call('HLEN', granting) + redis.call('HLEN', revoking)
  local free = tonumber(cap_value) - used
  if free <= 0 then return 'full' end
  local waiting = redis.call('ZCARD', queue)
  if waiting > 0 then
    local rank = redis.call('ZRANK', queue, user)
    if (rank == false and waiting >= free) or (rank ~= false and rank >= free) then return 'full' end
  end
end
redis.call('HSET', granting, user, now)
return 'reserved'
""",
)

# Worker: the directory confirmed the add.
COMMIT_GRANT = LuaScript(
    "commit_grant",
    keys=("licensed", "granting", "activity", "queue", "queue_seen"),
    args=("user", "now"),
    body="""
redis.call('HDEL', granting, user)
redis.call('HSET', licensed, user, now)
redis.call('ZADD', activity, 'GT', now, user)
redis.call('ZREM', queue, user)
redis.call('ZREM', queue_seen, user)
return 'ok'
""",
)

# Worker: no seat for user; join the queue (keeping the original place) and say where.
ENQUEUE = LuaScript(
    "enqueue",
    keys=("queue", "queue_seen"),
    args=("user", "now"),
    body="""
redis.call('ZADD', queue, 'NX', now, user)
redis.call('ZADD', queue_seen, now, user)
return redis.call('ZRANK', queue, user) + 1
""",
)

# Worker: the directory add failed; give the reserved seat back.
RELEASE_SEAT = LuaScript(
    "release_seat",
    keys=("granting",),
    args=("user",),
    body="""
return redis.call('HDEL', granting, user)
""",
)

# Sweeper: start revoking an idle user, unless they are busy, active, or held.
BEGIN_REVOKE = LuaScript(
    "begin_revoke",
    keys=("licensed", "revoking", "activity", "inflight", "holds"),
    args=("user", "idle_cutoff", "now"),
    body="""
if redis.call('HEXISTS', licensed, user) == 0 then return 'gone' end
if redis.call('EXISTS', inflight) == 1 then return 'busy' end
local last = tonumber(redis.call('ZSCORE', activity, user) or '0')
if last > tonumber(idle_cutoff) then return 'active' end
local hold = tonumber(redis.call('ZSCORE', holds, user) or '0')
if hold > tonumber(now) then return 'held' end
redis.call('HDEL', licensed, user)
redis.call('HSET', revoking, user, now)
return 'ok'
""",
)

# Sweeper, after the grace period: go ahead with the directory remove, or cancel it
# because activity arrived or a grant was asked for in the meantime.
CONFIRM_REVOKE = LuaScript(
    "confirm_revoke",
    keys=("licensed", "revoking", "activity", "inflight"),
    args=("user", "idle_cutoff", "now"),
    body="""
if redis.call('HEXISTS', revoking, user) == 0 then return 'gone' end
local last = tonumber(redis.call('ZSCORE', activity, user) or '0')
if last > tonumber(idle_cutoff) or redis.call('EXISTS', inflight) == 1 then
  redis.call('HDEL', revoking, user)
  redis.call('HSET', licensed, user, now)
  return 'cancelled'
end
return 'proceed'
""",
)

# Sweeper: the directory remove failed; the user is still a member, keep them licensed.
ABORT_REVOKE = LuaScript(
    "abort_revoke",
    keys=("licensed", "revoking"),
    args=("user", "now"),
    body="""
if redis.call('HDEL', revoking, user) == 1 then redis.call('HSET', licensed, user, now) end
return 'ok'
""",
)

# Sweeper: the directory confirmed the remove (or the user was not a member).
FINISH_REVOKE = LuaScript(
    "finish_revoke",
    keys=("revoking",),
    args=("user",),
    body="""
return redis.call('HDEL', revoking, user)
""",
)

# Worker: take over the pending grant entries of a consumer whose heartbeat key is gone
# (the worker died), atomically with that check, so the entries of a live worker (however
# slow its directory call) are never claimed. Returns the claimed entries like XCLAIM.
# The dead consumer is removed from the group once it holds nothing.
TAKE_OVER = LuaScript(
    "take_over",
    keys=("grants", "alive"),
    args=("group", "dead_consumer", "claiming_consumer", "max_entries"),
    body="""
if redis.call('EXISTS', alive) == 1 then return {} end
local pending = redis.call('XPENDING', grants, group, '-', '+', max_entries, dead_consumer)
local ids = {}
for i, entry in ipairs(pending) do ids[i] = entry[1] end
local claimed = {}
if #ids > 0 then claimed = redis.call('XCLAIM', grants, group, claiming_consumer, 0, unpack(ids)) end
if #ids < tonumber(max_entries) then redis.call('XGROUP', 'DELCONSUMER', grants, group, dead_consumer) end
return claimed
""",
)

# Seat peak: record the seats held now if more than the peak so far.
RECORD_PEAK = LuaScript(
    "record_peak",
    keys=("peak", "licensed", "granting", "revoking"),
    args=("now",),
    body="""
redis.call('HSETNX', peak, 'since', now)
local used = redis.call('HLEN', licensed) + redis.call('HLEN', granting) + redis.call('HLEN', revoking)
local peak_so_far = tonumber(redis.call('HGET', peak, 'peak') or '-1')
if used > peak_so_far then redis.call('HSET', peak, 'peak', used, 'peak_at', now) end
return used
""",
)

# Lease of the sweeper: renew or release only if we still hold it (compare-and-set).
RENEW_LEASE = LuaScript(
    "renew_lease",
    keys=("lease",),
    args=("owner", "ttl_ms"),
    body="""
if redis.call('GET', lease) == owner then return redis.call('PEXPIRE', lease, ttl_ms) end
return 0
""",
)
RELEASE_LEASE = LuaScript(
    "release_lease",
    keys=("lease",),
    args=("owner",),
    body="""
if redis.call('GET', lease) == owner then return redis.call('DEL', lease) end
return 0
""",
)

ALL_SCRIPTS = (
    REQUEST_GRANT,
    RESERVE_SEAT,
    COMMIT_GRANT,
    ENQUEUE,
    RELEASE_SEAT,
    BEGIN_REVOKE,
    CONFIRM_REVOKE,
    ABORT_REVOKE,
    FINISH_REVOKE,
    RECORD_PEAK,
    RENEW_LEASE,
    RELEASE_LEASE,
    TAKE_OVER,
)
