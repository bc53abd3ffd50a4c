"""Joining and leaving channel-layer groups: one round trip, bounded per process, retried, logged.

channels-redis takes one connection from redis-py's pool for each command, and a full
pool raises ``MaxConnectionsError`` at once instead of waiting. When more than ~100
sockets of one process closed together (a load balancer dropping a process's
connections, a deploy, a network blip), each disconnect's ``group_discard`` raced for
the pool (100 connections by default), most of them failed, and the dead channels stayed
in their groups until ``group_expiry`` (a day): every later event of the room was sent to
them too. So every group change of a process goes through here:

- a socket's groups (its room's, its person's, its session's) are joined or left in one
  pipelined round trip on one pooled connection (``group_add`` is a ZADD and an EXPIRE per
  group, ``group_discard`` a ZREM: the same commands channels-redis sends, on its keys);
- at most ``GROUP_OPS_IN_FLIGHT`` of them at a time, well under the pool's size
  (``CHANNEL_LAYER_MAX_CONNECTIONS`` in settings), so that publishing keeps connections;
- each retried with a short backoff, and a discard that still fails is logged with its
  group and channel.

Layers other than channels-redis (the in-memory one of the embedded default) get their own
``group_add`` / ``group_discard`` per group.
"""

import asyncio
import logging
import time
import weakref
from collections import defaultdict

from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

GROUP_OPS_IN_FLIGHT = 50
# Seconds to wait before each retry; a change is tried once more than there are delays.
RETRY_DELAYS = (0.05, 0.25, 1.0)

_limits: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _limit() -> asyncio.Semaphore:
    # One semaphore per event loop: a semaphore must not be shared between loops (tests run one each).
    loop = asyncio.get_running_loop()
    semaphore = _limits.get(loop)
    if semaphore is None:
        semaphore = _limits[loop] = asyncio.Semaphore(GROUP_OPS_IN_FLIGHT)
    return semaphore


async def _redis_change(layer: RedisChannelLayer, adding: bool, groups, channel) -> None:
    """The groups' ZADD + EXPIRE (or ZREM) for ``channel``, pipelined per Redis shard."""
    assert layer.require_valid_channel_name(channel), "Channel name not valid"
    shards = defaultdict(list)
    for group in groups:
        assert layer.require_valid_group_name(group), "Group name not valid"
        shards[layer.consistent_hash(group)].append(layer._group_key(group))
    for index, keys in shards.items():
        async with layer.connection(index).pipeline(transaction=False) as pipe:
            for key in keys:
                if adding:
                    pipe.zadd(key, {channel: time.time()})
                    pipe.expire(key, layer.group_expiry)
                else:
                    pipe.zrem(key, channel)
            await pipe.execute()


async def _change(layer, adding: bool, groups, channel) -> None:
    if isinstance(layer, RedisChannelLayer):
        return await _redis_change(layer, adding, groups, channel)
    operation = layer.group_add if adding else layer.group_discard
    for group in groups:
        await operation(group, channel)


async def _retried(layer, adding: bool, groups, channel) -> None:
    """Add or remove (both idempotent), retried on any error but cancellation."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            async with _limit():
                return await _change(layer, adding, groups, channel)
        except Exception:
            # Any error: a full pool, a dropped connection, a read timeout; the next try may pass.
            if delay is None:
                raise
            logger.info("Could not %s %s %s groups %s (attempt %d); retrying", "add" if adding else "remove",
                        channel, "to" if adding else "from", list(groups), attempt + 1, exc_info=True)
            await asyncio.sleep(delay)


async def join(layer, groups, channel) -> None:
    """Add ``channel`` to every group; raises if that still fails after the retries."""
    if groups:
        await _retried(layer, True, list(groups), channel)


async def leave(layer, groups, channel) -> bool:
    """Remove ``channel`` from every group; False (and a warning naming them) if that still failed."""
    if not groups:
        return True
    try:
        await _retried(layer, False, list(groups), channel)
    except Exception as exc:  # noqa: BLE001 - a socket that is gone must not fail its disconnect
        logger.warning("Could not remove %s from groups %s after %d attempts; it stays in them until they expire: %r",
                       channel, list(groups), len(RETRY_DELAYS) + 1, exc)
        return False
    return True
