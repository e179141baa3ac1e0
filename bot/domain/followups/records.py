"""Follow-ups: new music made from a clip_id (Extend, Cover), as the store keeps them, and the checks on
what a member typed into the modal."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.domain.errors import ErrorKind

#: What one create costs on MusicAPI (musicapi.md: 15 credits for extend and cover alike).
CREATE_CREDITS = 15
#: MusicAPI's recommended `continue_at` when the member leaves it empty.
DEFAULT_CONTINUE_AT = 0.1
#: Discord's limit on a text input's value; lyrics are also bounded by the model (`lyrics_limit`).
MAX_INPUT = 4000
MAX_STYLE = 200
MAX_TITLE = 80
#: Songs kept from one result (MusicAPI usually makes two).
MAX_SONGS = 4


class FollowUpAction(StrEnum):
    EXTEND = "extend"
    COVER = "cover"


class ClipOrigin(StrEnum):
    """Where the clip a follow-up starts from came from: a member's upload, or a song the bot made."""

    UPLOAD = "upload"
    SONG = "song"


class FollowUpState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def task_type(action: FollowUpAction, origin: ClipOrigin) -> str:
    """MusicAPI's task type: the `_upload_` ones work only on uploaded clips, the others on generated songs."""
    middle = "_upload_" if origin is ClipOrigin.UPLOAD else "_"
    return f"{action.value}{middle}music"


def lyrics_limit(model: str) -> int:
    """Characters of lyrics the model takes (3,000 for sonic-v3-5 and v4, 5,000 after), within Discord's."""
    return min(3000 if model in ("sonic-v3-5", "sonic-v4") else 5000, MAX_INPUT)


@dataclass(frozen=True, slots=True)
class Song:
    """One song of a result, as MusicAPI described it."""

    clip_id: str
    title: str = ""
    duration: float | None = None
    audio_url: str | None = None
    tags: str = ""
    id: int | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class ClipSource:
    """The clip a follow-up starts from: its clip_id, the member it belongs to, and how to name it."""

    origin: ClipOrigin
    source_id: int
    clip_id: str
    owner_id: int
    label: str


@dataclass(slots=True)
class FollowUpRecord:
    """One follow-up: who asked where (and how to answer them), from which clip, MusicAPI's task, its songs."""

    user_id: int
    guild_id: int | None
    channel_id: int | None
    application_id: int
    interaction_id: int
    interaction_token: str
    token_expires_at: float
    locale: str
    action: FollowUpAction
    origin: ClipOrigin
    source_id: int
    source_clip_id: str
    source_label: str
    task_type: str
    model: str
    credits: int = CREATE_CREDITS
    state: FollowUpState = FollowUpState.PENDING
    task_id: str | None = None
    callback_token: str | None = None
    error_kind: ErrorKind | None = None
    error_detail: str | None = None
    songs: list[Song] = field(default_factory=list)
    delivered: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    next_poll_at: float = 0.0
    id: int | None = None

    @property
    def key(self) -> int:
        if self.id is None:
            raise ValueError("this follow-up was never stored")
        return self.id

    @property
    def finished(self) -> bool:
        return self.state is not FollowUpState.PENDING

    @property
    def budget_guild(self) -> int:
        """The server whose daily budget pays for it (0: outside any server)."""
        return self.guild_id or 0


@dataclass(frozen=True, slots=True)
class FollowUpRequest:
    """What the member asked for in the modal, checked; `body` is the create call's payload."""

    action: FollowUpAction
    lyrics: str = ""
    style: str = ""
    title: str = ""
    continue_at: float | None = None
    audio_weight: float | None = None

    def body(self, origin: ClipOrigin, clip_id: str, model: str) -> dict[str, object]:
        body: dict[str, object] = {
            "task_type": task_type(self.action, origin),
            "continue_clip_id": clip_id,
            "custom_mode": True,
            "mv": model,
        }
        if self.lyrics:
            body["prompt"] = self.lyrics
        if self.style:
            body["tags"] = self.style
        if self.title:
            body["title"] = self.title
        if self.action is FollowUpAction.EXTEND:
            body["continue_at"] = DEFAULT_CONTINUE_AT if self.continue_at is None else self.continue_at
        elif self.audio_weight is not None:
            body["audio_weight"] = self.audio_weight
        return body


class InputRejected(Exception):
    """A modal field the bot will not send; `key` names the sentence, `values` its parameters."""

    def __init__(self, key: str, **values: str | int) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


_TIME = re.compile(r"^(?:([0-9]{1,3}):)?([0-9]{1,4}(?:[.,][0-9]{1,3})?)$")
#: Control characters other than line breaks and tabs: nothing a lyric sheet needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()


def _one_line(text: str, limit: int, field_key: str) -> str:
    value = " ".join(_clean(text).split())
    if len(value) > limit:
        raise InputRejected("followup.input.too_long", field=field_key, limit=limit)
    return value


def parse_seconds(raw: str) -> float | None:
    """Where to continue from: seconds (`42`, `12.5`) or minutes and seconds (`1:30`); None when empty."""
    text = raw.strip()
    if not text:
        return None
    match = _TIME.match(text)
    if match is None:
        raise InputRejected("followup.input.bad_time")
    minutes = int(match[1] or 0)
    seconds = float(match[2].replace(",", "."))
    if match[1] is not None and seconds >= 60:
        raise InputRejected("followup.input.bad_time")
    value = minutes * 60 + seconds
    if value > 8 * 60:  # an upload is at most 8 minutes long
        raise InputRejected("followup.input.bad_time")
    return value


def parse_weight(raw: str) -> float | None:
    """How close to the original a cover stays: 0 to 1 (`0.7`), or a percentage (`70%`); None when empty."""
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    percent = text.endswith("%")
    try:
        value = float(text.removesuffix("%").strip())
    except ValueError:
        raise InputRejected("followup.input.bad_weight") from None
    if percent:
        value /= 100
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise InputRejected("followup.input.bad_weight")
    return round(value, 3)


def extend_request(*, lyrics: str, style: str, title: str, continue_at: str, model: str) -> FollowUpRequest:
    """The Extend modal's fields, checked; raise InputRejected with the first problem."""
    words = _clean(lyrics)
    if len(words) > lyrics_limit(model):
        raise InputRejected("followup.input.too_long", field="lyrics", limit=lyrics_limit(model))
    return FollowUpRequest(
        FollowUpAction.EXTEND,
        lyrics=words,
        style=_one_line(style, MAX_STYLE, "style"),
        title=_one_line(title, MAX_TITLE, "title"),
        continue_at=parse_seconds(continue_at),
    )


def cover_request(*, style: str, lyrics: str, title: str, audio_weight: str, model: str) -> FollowUpRequest:
    """The Cover modal's fields, checked: a style is required."""
    words = _clean(lyrics)
    if len(words) > lyrics_limit(model):
        raise InputRejected("followup.input.too_long", field="lyrics", limit=lyrics_limit(model))
    tags = _one_line(style, MAX_STYLE, "style")
    if not tags:
        raise InputRejected("followup.input.no_style")
    return FollowUpRequest(
        FollowUpAction.COVER,
        lyrics=words,
        style=tags,
        title=_one_line(title, MAX_TITLE, "title"),
        audio_weight=parse_weight(audio_weight),
    )


def budget_day(now: float) -> str:
    """The UTC day a follow-up's credits count against (`2026-11-24`)."""
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def next_budget_day(now: float) -> float:
    """When the daily budget frees up: the next midnight, UTC."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


class Refusal(StrEnum):
    """Why a follow-up may not start now."""

    COOLDOWN = "cooldown"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True, slots=True)
class Allowance:
    """Whether a member's follow-up may start; when not, why and when it frees up (unix seconds)."""

    refusal: Refusal | None = None
    frees_at: float = 0.0
    spent: int = 0
    budget: int = 0

    @property
    def allowed(self) -> bool:
        return self.refusal is None
