"""Follow-ups: what a member starts on a clip_id, as the store keeps it, and the checks on what they typed
into a form."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.errors import ErrorKind

#: What members may type into one-line fields.
MAX_STYLE = 200
MAX_TITLE = 80
#: Songs (or stems) kept from one result: MusicAPI usually makes two songs, and two or four stems.
MAX_SONGS = 12


class Operation(StrEnum):
    """What a member may start on a clip; each is an entry of `catalog.CATALOG`."""

    EXTEND = "extend"
    COVER = "cover"
    ADD_VOCALS = "add_vocals"
    ADD_INSTRUMENTAL = "add_instrumental"
    MASHUP = "mashup"
    REMASTER = "remaster"
    STEMS = "stems"
    WAV = "wav"
    MIDI = "midi"
    BPM = "bpm"


class ClipOrigin(StrEnum):
    """Where the clip a follow-up starts from came from: a member's upload, or a song the bot made."""

    UPLOAD = "upload"
    SONG = "song"


class FollowUpState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
    #: MusicAPI's cover art for the song (kept so that a result can show it as an image).
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class ClipSource:
    """The clip a follow-up starts from: its clip_id, the member it belongs to, and how to name it."""

    origin: ClipOrigin
    source_id: int
    clip_id: str
    owner_id: int
    label: str
    #: When it was uploaded or made (unix seconds): some operations take only clips of the last 24 hours.
    made_at: float = 0.0


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
    action: Operation
    origin: ClipOrigin
    source_id: int
    source_clip_id: str
    source_label: str
    task_type: str
    model: str
    credits: int = 0
    state: FollowUpState = FollowUpState.PENDING
    task_id: str | None = None
    callback_token: str | None = None
    error_kind: ErrorKind | None = None
    error_detail: str | None = None
    songs: list[Song] = field(default_factory=list)
    #: What a result that is not songs holds: a link (`url`, MIDI's `instruments`) or a value (`bpm`).
    result: dict[str, Any] | None = None
    delivered: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    next_poll_at: float = 0.0
    id: int | None = None
    #: What Discord takes per file where it was asked for (the interaction's `attachment_size_limit`),
    #: so that a result arriving later is held to it; None when unknown (Discord's default then).
    attachment_limit: int | None = None

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


class InputRejected(Exception):
    """A modal field the bot will not send; `key` names the sentence, `values` its parameters."""

    def __init__(self, key: str, **values: str | int) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


_TIME = re.compile(r"^(?:([0-9]{1,3}):)?([0-9]{1,4}(?:[.,][0-9]{1,3})?)$")
#: Control characters other than line breaks and tabs: nothing a lyric sheet needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text).strip()


def one_line(text: str, limit: int, field_key: str) -> str:
    value = " ".join(clean_text(text).split())
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
    #: The whole bot's daily ceiling (TOTAL_DAILY_CREDITS), across servers and DMs.
    OVER_CEILING = "over_ceiling"
    #: The operation does not take this kind of clip (an upload, or a song the bot made).
    CLIP_KIND = "clip_kind"
    #: The operation takes only clips made or uploaded within the last 24 hours.
    TOO_OLD = "too_old"


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
