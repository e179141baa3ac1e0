"""Records to rows and back, the same for every backend: a row is read by column name (aiosqlite's `Row`
and asyncpg's `Record` both are), and times of follow-ups are integer milliseconds."""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from bot.domain.errors import ErrorKind
from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.pace import Pace, UploadMode
from bot.domain.records import SkipParams, SourceKind, UploadRecord, UploadState

#: The upload log's columns: one per field of the record.
UPLOAD_COLUMNS = tuple(f.name for f in dataclasses.fields(UploadRecord))
#: The columns a new upload's row is written with (the store numbers it).
UPLOAD_INSERTED = tuple(name for name in UPLOAD_COLUMNS if name != "id")

#: The watcher's round: each pending upload in brief (`PendingBrief`, its fields in this order).
PENDING_BRIEFS = (
    "SELECT id, instance, task_id, callback_token, created_at FROM uploads"
    " WHERE state = 'pending' ORDER BY id"
)

#: Follow-up columns written from a record; `budget_guild` and `budget_day` are added when reserving.
FOLLOW_UP_FIELDS = (
    "user_id", "guild_id", "channel_id", "application_id", "interaction_id", "interaction_token",
    "locale", "action", "origin", "source_id", "source_clip_id", "source_label", "task_type", "model",
    "credits", "state", "task_id", "callback_token", "attachment_limit",
)  # fmt: skip
FOLLOW_UP_INSERTED = (
    *FOLLOW_UP_FIELDS,
    "budget_guild",
    "budget_day",
    "token_expires_ms",
    "created_ms",
    "updated_ms",
    "next_poll_ms",
)
SONG_FIELDS = ("position", "clip_id", "title", "duration", "audio_url", "tags", "image_url")


class Row(Protocol):
    """A row read by column name."""

    def __getitem__(self, name: str, /) -> Any: ...


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def seconds(milliseconds: int | None) -> float:
    return (milliseconds or 0) / 1000


def error_kind(value: str | None) -> ErrorKind | None:
    """A stored error kind; one this bot does not know (written by a newer one) reads as a plain failure."""
    if value is None:
        return None
    try:
        return ErrorKind(value)
    except ValueError:
        return ErrorKind.FAILED


#: The stored value of each member of an upload's enums (a dict lookup runs in C; `.value` in Python).
_VALUES: dict[UploadState | SourceKind | ErrorKind | None, str | None] = {
    None: None,
    **{member: member.value for kind in (UploadState, SourceKind, ErrorKind) for member in kind},
}


def _params(params: SkipParams) -> str:
    return json.dumps(params) if params else "{}"  # most uploads have none, and json.dumps is Python code


_read_inserted = operator.attrgetter(*UPLOAD_INSERTED)
#: The inserted columns kept in another form than the record's: (place among UPLOAD_INSERTED, how).
_STORED_AS: list[tuple[int, Callable[[Any], str | None]]] = [
    (UPLOAD_INSERTED.index(name), how)
    for name, how in (
        ("state", _VALUES.__getitem__),
        ("source_kind", _VALUES.__getitem__),
        ("error_kind", _VALUES.__getitem__),
        ("skip_params", _params),
    )
]


def upload_values(record: UploadRecord) -> list[Any]:
    """A new upload's row: the values of UPLOAD_INSERTED as the store keeps them (read in one step, as
    every upload of the upload path is written)."""
    values = list(_read_inserted(record))
    for place, how in _STORED_AS:
        values[place] = how(values[place])
    return values


def upload_record(row: Row) -> UploadRecord:
    values: dict[str, Any] = {name: row[name] for name in UPLOAD_COLUMNS}
    values["delivered"] = bool(values["delivered"])
    values["state"] = UploadState(values["state"])
    values["source_kind"] = SourceKind(values["source_kind"])
    values["error_kind"] = error_kind(values["error_kind"])
    params = json.loads(values["skip_params"] or "{}")
    values["skip_params"] = params if isinstance(params, dict) else {}
    return UploadRecord(**values)


def follow_up_values(record: FollowUpRecord) -> list[Any]:
    """The values of FOLLOW_UP_FIELDS for `record`."""
    return [
        getattr(record, name).value if name in ("action", "origin", "state") else getattr(record, name)
        for name in FOLLOW_UP_FIELDS
    ]


def follow_up_record(row: Row, songs: Sequence[Song] = ()) -> FollowUpRecord:
    return FollowUpRecord(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        application_id=int(row["application_id"]),
        interaction_id=int(row["interaction_id"]),
        interaction_token=str(row["interaction_token"]),
        token_expires_at=seconds(row["token_expires_ms"]),
        locale=str(row["locale"]),
        action=Operation(row["action"]),
        origin=ClipOrigin(row["origin"]),
        source_id=int(row["source_id"]),
        source_clip_id=str(row["source_clip_id"]),
        source_label=str(row["source_label"]),
        task_type=str(row["task_type"]),
        model=str(row["model"]),
        credits=int(row["credits"]),
        state=FollowUpState(row["state"]),
        task_id=row["task_id"],
        callback_token=row["callback_token"],
        error_kind=error_kind(row["error_kind"]),
        error_detail=row["error_detail"],
        delivered=bool(row["delivered"]),
        created_at=seconds(row["created_ms"]),
        updated_at=seconds(row["updated_ms"]),
        next_poll_at=seconds(row["next_poll_ms"]),
        songs=list(songs),
        result=_result(row["result"]),
        attachment_limit=row["attachment_limit"],
    )


def _result(raw: str | None) -> dict[str, Any] | None:
    """A stored result that is not songs; anything unreadable reads as none."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def song(row: Row) -> Song:
    return Song(
        id=int(row["id"]),
        position=int(row["position"]),
        clip_id=str(row["clip_id"]),
        title=str(row["title"]),
        duration=row["duration"],
        audio_url=row["audio_url"],
        tags=str(row["tags"]),
        image_url=row["image_url"],
    )


def song_values(follow_up_id: int, position: int, s: Song) -> tuple[Any, ...]:
    """A song's row: its follow-up, then SONG_FIELDS in order."""
    return (follow_up_id, position, s.clip_id, s.title, s.duration, s.audio_url, s.tags, s.image_url)


def paces(rows: Iterable[Row]) -> list[Pace]:
    """Stored paces; one of a mode this bot does not know (written by a newer one) is left out."""
    known = {mode.value: mode for mode in UploadMode}
    return [
        Pace(float(row["seconds"]), known[row["mode"]], float(row["measured_at"]))
        for row in rows
        if row["mode"] in known
    ]
