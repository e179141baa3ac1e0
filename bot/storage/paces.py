"""MusicAPI's measured pace per instance (`upload_paces`, see `domain.pace`), each statement written once
for both backends and run by the store's `Runner` (or one on the heartbeat's transaction)."""

from __future__ import annotations

from bot.domain.pace import Pace
from bot.storage.rows import paces
from bot.storage.runner import Runner

_KEEP = (
    "INSERT INTO upload_paces (instance, mode, seconds, measured_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (instance) DO UPDATE SET mode = excluded.mode, seconds = excluded.seconds,"
    " measured_at = excluded.measured_at"
)
_SINCE = "SELECT mode, seconds, measured_at FROM upload_paces WHERE measured_at >= $1"


async def keep_pace(db: Runner, instance: str, pace: Pace) -> None:
    """`pace` becomes the instance's measured pace."""
    await db.execute(_KEEP, instance, pace.mode.value, pace.seconds, pace.measured_at)


async def paces_since(db: Runner, measured_since: float) -> list[Pace]:
    """Every instance's pace measured at `measured_since` or later."""
    return paces(await db.fetch(_SINCE, measured_since))
