"""Instances long gone: their heartbeat rows (left by a process that died) and measured paces (kept past a
clean stop for whoever starts next), removed once nothing reads them. Written once for both backends."""

from __future__ import annotations

from bot.storage.runner import Runner

_INSTANCES = "DELETE FROM instances WHERE seen_at < $1"
_PACES = "DELETE FROM upload_paces WHERE measured_at < $1"


async def forget_departed(db: Runner, before: float) -> int:
    """Remove the heartbeats and paces of instances last heard of before `before`; how many rows went."""
    return await db.execute(_INSTANCES, before) + await db.execute(_PACES, before)
