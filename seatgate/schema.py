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

from dataclasses import dataclass

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


# --- Lua scripts -------------------------------------------------------------------
# Each returns a short status string. KEYS and ARGV are documented above each one.

# Proxy: ask for a grant unless the user is licensed or a grant is already in flight.
# KEYS: licensed, inflight(user), grants stream
# ARGV: user, request_id, inflight_ttl_ms, stream maxlen, then the entry's fields as
#       name, value pairs (protocol.GrantRequest.to_fields: the format is defined there)
REQUEST_GRANT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'licensed' end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) == false then return 'pending' end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
return 'queued'
"""

# Worker: reserve a seat for user, atomically against the cap. Waiting users are served
# first come, first served: while the queue is not empty, only the first `free` users in
# it may take a seat, so a newcomer cannot overtake someone who waited.
# KEYS: licensed, granting, revoking, cap, queue
# ARGV: user, now
RESERVE_SEAT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'licensed' end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 'revoking' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'reserved' end
local cap = redis.call('GET', KEYS[4])
if cap then
  local used = redis.call('HLEN', KEYS[1]) + redis.call('HLEN', KEYS[2]) + redis.call('HLEN', KEYS[3])
  local free = tonumber(cap) - used
  if free <= 0 then return 'full' end
  local waiting = redis.call('ZCARD', KEYS[5])
  if waiting > 0 then
    local rank = redis.call('ZRANK', KEYS[5], ARGV[1])
    if (rank == false and waiting >= free) or (rank ~= false and rank >= free) then return 'full' end
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'reserved'
"""

# Worker: the directory confirmed the add.
# KEYS: licensed, granting, activity, queue, queue_seen
# ARGV: user, now
COMMIT_GRANT = """
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], 'GT', ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 'ok'
"""

# Worker: no seat for user; join the queue (keeping the original place) and say where.
# KEYS: queue, queue_seen
# ARGV: user, now
ENQUEUE = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return redis.call('ZRANK', KEYS[1], ARGV[1]) + 1
"""

# Worker: the directory add failed; give the reserved seat back.
# KEYS: granting
# ARGV: user
RELEASE_SEAT = """
return redis.call('HDEL', KEYS[1], ARGV[1])
"""

# Sweeper: start revoking an idle user, unless they are busy, active, or held.
# KEYS: licensed, revoking, activity, inflight(user), holds
# ARGV: user, idle_cutoff, now
BEGIN_REVOKE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'gone' end
if redis.call('EXISTS', KEYS[4]) == 1 then return 'busy' end
local last = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
if last > tonumber(ARGV[2]) then return 'active' end
local hold = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[1]) or '0')
if hold > tonumber(ARGV[3]) then return 'held' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 'ok'
"""

# Sweeper, after the grace period: go ahead with the directory remove, or cancel it
# because activity arrived or a grant was asked for in the meantime.
# KEYS: licensed, revoking, activity, inflight(user)
# ARGV: user, idle_cutoff, now
CONFIRM_REVOKE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 'gone' end
local last = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
if last > tonumber(ARGV[2]) or redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 'cancelled'
end
return 'proceed'
"""

# Sweeper: the directory remove failed; the user is still a member, keep them licensed.
# KEYS: licensed, revoking
# ARGV: user, now
ABORT_REVOKE = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 'ok'
"""

# Sweeper: the directory confirmed the remove (or the user was not a member).
# KEYS: revoking
# ARGV: user
FINISH_REVOKE = """
return redis.call('HDEL', KEYS[1], ARGV[1])
"""

# Seat peak: record the seats held now if more than the peak so far.
# KEYS: peak, licensed, granting, revoking
# ARGV: now
RECORD_PEAK = """
redis.call('HSETNX', KEYS[1], 'since', ARGV[1])
local used = redis.call('HLEN', KEYS[2]) + redis.call('HLEN', KEYS[3]) + redis.call('HLEN', KEYS[4])
local peak = tonumber(redis.call('HGET', KEYS[1], 'peak') or '-1')
if used > peak then redis.call('HSET', KEYS[1], 'peak', used, 'peak_at', ARGV[1]) end
return used
"""

# Lease of the sweeper: renew or release only if we still hold it (compare-and-set).
# KEYS: lease;  ARGV: owner, ttl_ms
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS: lease;  ARGV: owner
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

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
)
