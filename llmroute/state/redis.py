"""RedisStore: the StateStore that every process and host pointing at one Redis shares.

Each read-modify-write that must hold across processes is one Lua script, run atomically by the
server: a budget hold against its limits, settling actual spend, giving a hold back, a breaker's
transitions and its half-open probe claim, a bounded latency list. Holds expire on the server's
clock, so hosts need not agree on the time for budgets to stay exact.

Every operation has a short timeout. When Redis does not answer, the store raises
:class:`~llmroute.errors.StateUnavailableError` and, for ``retry_after_s``, fails at once without
trying again, so a dead Redis costs one timeout, not one per call; after that it reconnects by
itself. The URL's password never appears in a repr, an error or a log line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import ConfigError, MissingDependencyError, StateUnavailableError
from . import BreakerSettings, Outcome

__all__ = ["RedisStore", "safe_url"]

_T = TypeVar("_T")
_MARKER = "__llmroute__"
_MARKER_VALUE = "llmroute state v1"

# -- the server-side steps ---------------------------------------------------------------------
# Claiming a prefix in one step: workers starting together must not see one another's first keys
# as a stranger's (checked and claimed in separate calls, a worker could find keys another wrote
# just after claiming the prefix, and refuse to start).
_CLAIM_PREFIX = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then
  if #redis.call('SCAN', '0', 'MATCH', ARGV[2], 'COUNT', 1000)[2] > 0 then return 'foreign' end
  redis.call('SET', KEYS[1], ARGV[1])
  return 'claimed'
end
if kind ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'other' end
return 'ours'
"""
_COMMON = """
local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x) return string.format('%.17g', x) end
local function purge(k, e, now)
  local dead = redis.call('ZRANGEBYSCORE', e, '-inf', now)
  for _, h in ipairs(dead) do
    local a = tonumber(redis.call('HGET', k, 'h:' .. h) or '0')
    redis.call('HDEL', k, 'h:' .. h)
    redis.call('ZREM', e, h)
    if a > 0 then redis.call('HINCRBYFLOAT', k, 'held', num(-a)) end
  end
  if redis.call('ZCARD', e) == 0 then redis.call('HDEL', k, 'held') end
end
"""

_HOLD = _COMMON + """
local holder, amount, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_s()
local n = #KEYS / 2
for i = 1, n do
  local k, e = KEYS[2 * i - 1], KEYS[2 * i]
  purge(k, e, now)
  local old = tonumber(redis.call('HGET', k, 'h:' .. holder) or '0')
  if amount > old then
    local spent = tonumber(redis.call('HGET', k, 'spent') or '0')
    local held = tonumber(redis.call('HGET', k, 'held') or '0')
    if spent + held - old + amount > tonumber(ARGV[2 + 2 * i]) + 1e-12 then return i end
  end
end
for i = 1, n do
  local k, e = KEYS[2 * i - 1], KEYS[2 * i]
  local old = tonumber(redis.call('HGET', k, 'h:' .. holder) or '0')
  if amount > old then
    redis.call('HSET', k, 'h:' .. holder, ARGV[2])
    redis.call('HINCRBYFLOAT', k, 'held', num(amount - old))
    redis.call('ZADD', e, num(now + ttl), holder)
  end
  redis.call('PEXPIRE', k, ARGV[3 + 2 * i])
  redis.call('PEXPIRE', e, ARGV[3 + 2 * i])
end
return 0
"""

_SETTLE = _COMMON + """
local holder, cost = ARGV[1], tonumber(ARGV[2])
local now = now_s()
for i = 1, #KEYS / 2 do
  local k, e = KEYS[2 * i - 1], KEYS[2 * i]
  purge(k, e, now)
  redis.call('HINCRBYFLOAT', k, 'spent', ARGV[2])
  local old = redis.call('HGET', k, 'h:' .. holder)
  if old then
    local take = math.min(tonumber(old), cost)
    redis.call('HSET', k, 'h:' .. holder, num(tonumber(old) - take))
    redis.call('HINCRBYFLOAT', k, 'held', num(-take))
  end
  redis.call('PEXPIRE', k, ARGV[2 + i])
  if redis.call('EXISTS', e) == 1 then redis.call('PEXPIRE', e, ARGV[2 + i]) end
end
return 0
"""

_UNHOLD = """
local holder = ARGV[1]
for i = 1, #KEYS / 2 do
  local k, e = KEYS[2 * i - 1], KEYS[2 * i]
  local old = redis.call('HGET', k, 'h:' .. holder)
  if old then
    redis.call('HDEL', k, 'h:' .. holder)
    redis.call('ZREM', e, holder)
    redis.call('HINCRBYFLOAT', k, 'held', string.format('%.17g', -tonumber(old)))
  end
  if redis.call('ZCARD', e) == 0 then redis.call('HDEL', k, 'held') end
end
return 0
"""

_LEDGERS = _COMMON + """
local now = now_s()
local out = {}
for i = 1, #KEYS / 2 do
  local k, e = KEYS[2 * i - 1], KEYS[2 * i]
  purge(k, e, now)
  out[#out + 1] = redis.call('HGET', k, 'spent') or '0'
  out[#out + 1] = redis.call('HGET', k, 'held') or '0'
end
return out
"""

_BREAKERS = """
local now = tonumber(ARGV[1])
local out = {}
for _, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'opened', 'probe_for', 'probe_until')
  out[#out + 1] = v[1] or '0'
  out[#out + 1] = (v[1] and v[2] == v[1] and tonumber(v[3] or '0') > now) and '1' or '0'
end
return out
"""

_CLAIM = """
local v = redis.call('HMGET', KEYS[1], 'opened', 'probe_for', 'probe_until')
if not v[1] then return 1 end
local now, cd = tonumber(ARGV[1]), tonumber(ARGV[2])
if now - tonumber(v[1]) < cd then return 0 end
if v[2] == v[1] and tonumber(v[3] or '0') > now then return 0 end
redis.call('HSET', KEYS[1], 'probe_for', v[1], 'probe_until', string.format('%.17g', now + math.max(cd, 1)))
return 1
"""

_RECORD = """
local k, outcome, now_arg = KEYS[1], ARGV[1], ARGV[2]
local now = tonumber(now_arg)
local threshold, rate, min_calls = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local window, cd, nb = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local opened_s = redis.call('HGET', k, 'opened')
if outcome == 'neutral' then
  redis.call('HDEL', k, 'probe_for')
  return opened_s or '0'
end
local bucket = math.floor(now / (window / nb))
for _, f in ipairs(redis.call('HKEYS', k)) do
  local b = tonumber(string.match(f, '^[cf](%d+)$') or '')
  if b and b <= bucket - nb then redis.call('HDEL', k, f) end
end
if outcome == 'ok' then
  if opened_s then
    redis.call('DEL', k)
  else
    redis.call('HSET', k, 'consecutive', '0')
    if rate >= 0 then redis.call('HINCRBY', k, 'c' .. string.format('%d', bucket), 1) end
    redis.call('PEXPIRE', k, ARGV[9])
  end
  return '0'
end
if opened_s then
  if now - tonumber(opened_s) >= cd then
    redis.call('HSET', k, 'opened', now_arg)
    redis.call('HDEL', k, 'probe_for')
    return now_arg
  end
  return opened_s
end
local opens = redis.call('HINCRBY', k, 'consecutive', 1) >= threshold
if rate >= 0 then
  local b0 = string.format('%d', bucket)
  redis.call('HINCRBY', k, 'c' .. b0, 1)
  redis.call('HINCRBY', k, 'f' .. b0, 1)
  local calls, fails = 0, 0
  for b = bucket - nb + 1, bucket do
    local s = string.format('%d', b)
    calls = calls + tonumber(redis.call('HGET', k, 'c' .. s) or '0')
    fails = fails + tonumber(redis.call('HGET', k, 'f' .. s) or '0')
  end
  if calls >= min_calls and fails / calls >= rate then opens = true end
end
redis.call('PEXPIRE', k, ARGV[9])
if opens then
  redis.call('HSET', k, 'opened', now_arg)
  return now_arg
end
return '0'
"""

_INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
"""

_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return 0
"""


def safe_url(url: str) -> str:
    """``url`` with its password (and user) replaced by ``***``: the only form ever shown."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return parts._replace(netloc=f"***@{host}{port}").geturl()


def _check_url(url: object, setting: str) -> str:
    if not isinstance(url, str) or not url:
        raise ConfigError(f"must be a redis:// URL, got {type(url).__name__}", path=setting)
    shown = safe_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"malformed Redis URL {shown!r}: bad port", path=setting) from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"malformed Redis URL {shown!r}: scheme must be redis://, rediss:// or unix://", path=setting)
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"malformed Redis URL {shown!r}: no host", path=setting)
    if port == 0:
        raise ConfigError(f"malformed Redis URL {shown!r}: bad port", path=setting)
    db = parts.path.lstrip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigError(f"malformed Redis URL {shown!r}: the path must be a database number", path=setting)
    return url


def _check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix or any(c.isspace() or c in "*?[]{}" for c in prefix):
        raise ConfigError(f"must be a non-empty name without spaces or * ? [ ] {{ }}, got {prefix!r}", path="state.prefix")
    return prefix


class RedisStore:
    """A :class:`~llmroute.state.StateStore` on Redis, shared by every process that uses the
    same ``url`` and ``prefix``.

    ``timeout_s`` bounds every operation (connect included); after a failure the store fails
    fast for ``retry_after_s`` and then tries again. It connects and checks the server (reachable,
    password accepted, ``prefix`` not used by something else) when built, or with ``lazy=True``
    on first use. ``url_env`` reads the URL from that environment variable instead.
    """

    remote = True

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "llmroute",
        url_env: str | None = None,
        timeout_s: float = 0.25,
        retry_after_s: float = 1.0,
        lazy: bool = False,
    ) -> None:
        setting = "state.url"
        if url_env is not None:
            setting = "state.url_env"
            if url is not None:
                raise ConfigError("give url or url_env, not both", path="state.url")
            url = os.environ.get(url_env)
            if not url:
                raise ConfigError(f"environment variable {url_env} is not set", path=setting)
        url = _check_url(url if url is not None else "redis://127.0.0.1:6379/0", setting)
        self.prefix = _check_prefix(prefix)
        for name, value in (("timeout_s", timeout_s), ("retry_after_s", retry_after_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"must be a number > 0, got {value!r}", path=f"state.{name}")
        self._setting = setting
        self._shown = safe_url(url)
        self.timeout_s = float(timeout_s)
        self.retry_after_s = float(retry_after_s)
        self._down_until = 0.0
        self._checked = False
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise MissingDependencyError("RedisStore needs the redis client: pip install 'llmroute[redis]'") from None
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        # One reconnect attempt, so a Redis that restarted is picked up by the next call unseen.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        del url  # the client keeps it; nothing else here does
        script = self._client.register_script
        self._hold, self._settle, self._unhold, self._ledgers = (script(s) for s in (_HOLD, _SETTLE, _UNHOLD, _LEDGERS))
        self._breakers, self._claim, self._record = (script(s) for s in (_BREAKERS, _CLAIM, _RECORD))
        self._incr, self._push = script(_INCR), script(_PUSH)
        self._claim_prefix = script(_CLAIM_PREFIX)
        if not lazy:
            self.check()

    @classmethod
    def from_env(cls, variable: str = "LLMROUTE_REDIS_URL", **kw: Any) -> RedisStore:
        """A RedisStore whose URL (with its password) is read from ``variable``."""
        return cls(url_env=variable, **kw)

    def __repr__(self) -> str:
        return f"RedisStore(url={self._shown!r}, prefix={self.prefix!r})"

    def close(self) -> None:
        self._client.close()

    # -- connecting and failing ---------------------------------------------------------------
    def check(self) -> None:
        """Connect, authenticate and claim ``prefix``; ConfigError naming the setting when any fails."""
        marker = self._key(_MARKER)
        try:
            self._client.ping()
            claim = self._claim_prefix(keys=[marker], args=[_MARKER_VALUE, self._key("*")])
        except self._errors as exc:
            raise ConfigError(self._why(exc), path=self._setting) from None
        if claim == "foreign":
            raise ConfigError(
                f"keys under {self.prefix + ':'!r} already exist in this Redis database and were not written by llmroute; "
                "choose another prefix",
                path="state.prefix",
            )
        if claim == "other":
            raise ConfigError(f"the key {marker!r} belongs to something else; choose another prefix", path="state.prefix")
        self._checked = True

    def _why(self, exc: BaseException) -> str:
        import redis

        name = type(exc).__name__
        if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in str(exc) or "NOAUTH" in str(exc):
            return f"the Redis server at {self._shown} refused the credentials (the password is not shown)"
        if isinstance(exc, redis.TimeoutError):
            return f"the Redis server at {self._shown} did not answer within {self.timeout_s:g} s"
        if isinstance(exc, redis.ConnectionError):
            return f"cannot reach the Redis server at {self._shown} ({name})"
        if isinstance(exc, redis.ResponseError) and str(exc).startswith("WRONGTYPE"):
            return f"a key under prefix {self.prefix!r} has the wrong type: another application may use this prefix"
        return f"Redis at {self._shown} failed: {name}"

    def _run(self, op: Callable[[], _T]) -> _T:
        if self._down_until and time.monotonic() < self._down_until:
            raise StateUnavailableError(
                f"state store {self._shown} is unavailable; retrying after {self.retry_after_s:g} s", setting=self._setting
            )
        try:
            if not self._checked:
                self.check()
            result = op()
        except ConfigError as exc:  # a lazy store's first check failed
            self._down_until = time.monotonic() + self.retry_after_s
            raise StateUnavailableError(str(exc), setting=exc.path) from None
        except self._errors as exc:
            self._down_until = time.monotonic() + self.retry_after_s
            raise StateUnavailableError(self._why(exc), setting=self._setting) from None
        self._down_until = 0.0
        return result

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _pairs(self, keys: Sequence[str]) -> list[str]:
        out = []
        for key in keys:
            full = self._key(key)
            out += [full, full + ":holds"]
        return out

    # -- plain numbers and lists -------------------------------------------------------------
    def get(self, key: str, default: float = 0.0) -> float:
        value = self._run(lambda: self._client.get(self._key(key)))
        return default if value is None else float(value)

    def set(self, key: str, value: float, *, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        self._run(lambda: self._client.set(self._key(key), repr(float(value)), px=px))

    def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        px = 0 if ttl_s is None else max(1, int(ttl_s * 1000))
        return float(self._run(lambda: self._incr(keys=[self._key(key)], args=[repr(float(amount)), px])))

    def push(self, key: str, value: float, *, keep: int) -> None:
        self._run(lambda: self._push(keys=[self._key(key)], args=[repr(float(value)), keep]))

    def values(self, key: str) -> Sequence[float]:
        items = self._run(lambda: self._client.lrange(self._key(key), 0, -1))
        return tuple(float(v) for v in items)

    # -- ledgers -----------------------------------------------------------------------------
    def hold(
        self, keys: Sequence[str], limits: Sequence[float], holder: str, amount: float, *, ttl_s: float, keep_s: Sequence[float]
    ) -> int:
        args: list[Any] = [holder, repr(float(amount)), repr(float(ttl_s))]
        for limit, keep in zip(limits, keep_s, strict=True):
            args += [repr(float(limit)), max(1, int(keep * 1000))]
        return int(self._run(lambda: self._hold(keys=self._pairs(keys), args=args)))

    def settle(self, keys: Sequence[str], holder: str, cost: float, *, keep_s: Sequence[float]) -> None:
        args: list[Any] = [holder, repr(float(cost)), *(max(1, int(k * 1000)) for k in keep_s)]
        self._run(lambda: self._settle(keys=self._pairs(keys), args=args))

    def unhold(self, keys: Sequence[str], holder: str) -> None:
        self._run(lambda: self._unhold(keys=self._pairs(keys), args=[holder]))

    def ledgers(self, keys: Sequence[str]) -> list[tuple[float, float]]:
        if not keys:
            return []
        flat = self._run(lambda: self._ledgers(keys=self._pairs(keys), args=[]))
        return [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    # -- breakers ----------------------------------------------------------------------------
    def breakers(self, keys: Sequence[str], now: float) -> list[tuple[float, bool]]:
        if not keys:
            return []
        flat = self._run(lambda: self._breakers(keys=[self._key(k) for k in keys], args=[repr(now)]))
        return [(float(flat[i]), flat[i + 1] == "1") for i in range(0, len(flat), 2)]

    def breaker_claim(self, key: str, now: float, cooldown_s: float) -> bool:
        return bool(self._run(lambda: self._claim(keys=[self._key(key)], args=[repr(now), repr(float(cooldown_s))])))

    def breaker_record(self, key: str, outcome: Outcome, now: float, settings: BreakerSettings) -> float:
        threshold, rate, min_calls, window_s, cooldown_s, buckets = settings
        keep_ms = int((max(window_s * 2, cooldown_s * 2) + 60) * 1000)
        args: list[Any] = [outcome, repr(now), threshold, repr(float(rate)), min_calls, repr(float(window_s)), repr(float(cooldown_s)), buckets, keep_ms]
        return float(self._run(lambda: self._record(keys=[self._key(key)], args=args)))

    def breaker_reset(self, key: str) -> None:
        self._run(lambda: self._client.delete(self._key(key)))

