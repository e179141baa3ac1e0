"""The operations members may start on a clip, one entry each: which clips it takes, its form (or none:
one click), the MusicAPI call it makes, the setting that prices it, and what its result is.

Adding an operation: a member of `Operation`, an entry in `CATALOG`, its price setting
(`<OPERATION>_CREDITS` in the settings), its texts in the six catalogs (`followup.button.<op>`,
`followup.modal.<op>`, `followup.working.<op>`, `followup.done.<op>`), and a test. What its result
attaches follows from its result kind (`files.attached`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.followups.records import (
    MAX_STYLE,
    MAX_TITLE,
    ClipOrigin,
    InputRejected,
    Operation,
    clean_text,
    one_line,
    parse_seconds,
    parse_weight,
)
from bot.domain.media import FileKind

#: Discord's limit on a text input's value.
MAX_INPUT = 4000
#: MusicAPI's recommended `continue_at` when the member leaves it empty.
DEFAULT_CONTINUE_AT = 0.1
#: The window some operations keep: only clips made (or uploaded) within the last 24 hours.
DAY_SECONDS = 24 * 60 * 60


class Endpoint(StrEnum):
    """The MusicAPI call an operation makes (the path under /api/v1/sonic/)."""

    CREATE = "create"
    MASHUP = "mashup"
    STEMS = "stems/basic"
    WAV = "wav"
    MIDI = "midi"
    BPM = "bpm"


#: Calls answered at once (the rest answer with a task, polled or reported by a webhook).
SYNCHRONOUS = frozenset({Endpoint.WAV, Endpoint.MIDI, Endpoint.BPM})
#: Calls MusicAPI reports back on by webhook (the others are polled).
#: (MusicAPI documents no webhook for mashup; a client sends the fields: sent, and polled as well.)
WEBHOOKS = frozenset({Endpoint.CREATE, Endpoint.MASHUP})


class ResultKind(StrEnum):
    """What an operation yields: songs (with clip_ids to go on from), audio files, a link, a value."""

    SONGS = "songs"
    FILES = "files"
    LINK = "link"
    VALUE = "value"


class FieldKind(StrEnum):
    LYRICS = "lyrics"  # many lines, bounded by the lyrics limit
    LINE = "line"  # one line (style, title)
    SECONDS = "seconds"  # `42` or `1:30`
    WEIGHT = "weight"  # 0 to 1, or a percentage


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of an operation's form. `name` is its custom_id, `key` what MusicAPI calls it; its label is
    `followup.field.<label>` (and `.hint` under it when `hint`)."""

    name: str
    key: str
    kind: FieldKind
    label: str
    required: bool = False
    hint: bool = False
    limit: int = MAX_STYLE

    def read(self, raw: str, lyrics_limit: int) -> object | None:
        """The field's value as MusicAPI takes it; None when empty; InputRejected when unusable."""
        if self.kind is FieldKind.LYRICS:
            value: object | None = clean_text(raw)
            limit = min(lyrics_limit, MAX_INPUT)
            if len(str(value)) > limit:
                raise InputRejected("followup.input.too_long", field=self.name, limit=limit)
        elif self.kind is FieldKind.LINE:
            value = one_line(raw, self.limit, self.name)
        elif self.kind is FieldKind.SECONDS:
            value = parse_seconds(raw)
        else:
            value = parse_weight(raw)
        if value in (None, ""):
            if self.required:
                raise InputRejected(f"followup.input.no_{self.name}")
            return None
        return value

    def max_length(self, lyrics_limit: int) -> int:
        return min(lyrics_limit, MAX_INPUT) if self.kind is FieldKind.LYRICS else self.limit


LYRICS = FormField("lyrics", "prompt", FieldKind.LYRICS, "lyrics", hint=True)
STYLE = FormField("style", "tags", FieldKind.LINE, "style", hint=True)
TITLE = FormField("title", "title", FieldKind.LINE, "title", limit=MAX_TITLE)


@dataclass(frozen=True, slots=True)
class Spec:
    """One operation.

    `task_types`: the clips it takes, by origin, with the task type MusicAPI wants for each (empty strings
    for calls without one). `within_day`: only clips made or uploaded within the last 24 hours.
    `body`: fixed fields of the request besides the clip and the form's values. `defaults`: what a form
    field left empty sends.
    """

    operation: Operation
    endpoint: Endpoint
    result: ResultKind
    task_types: Mapping[ClipOrigin, str]
    fields: tuple[FormField, ...] = ()
    within_day: bool = False
    body: Mapping[str, object] | None = None
    defaults: Mapping[str, object] | None = None
    #: The clip's field in the request.
    clip_key: str = "continue_clip_id"
    #: Whether the request names the model (`mv`).
    model: bool = True
    #: Whether it takes a second clip of the member's own (chosen from a list), sent beside the first.
    pair: bool = False
    #: A link result whose file is attached too, of this kind (MIDI's `.mid`); None keeps the link alone
    #: (a three-minute WAV is about 30 MiB, more than Discord takes by default).
    link_file: FileKind | None = None

    @property
    def price_setting(self) -> str:
        """The setting that holds its price in credits (`EXTEND_CREDITS`)."""
        return f"{self.operation.value.upper()}_CREDITS"

    @property
    def one_click(self) -> bool:
        return not self.fields

    @property
    def synchronous(self) -> bool:
        return self.endpoint in SYNCHRONOUS

    @property
    def webhook(self) -> bool:
        return self.endpoint in WEBHOOKS

    def takes(self, origin: ClipOrigin) -> bool:
        return origin in self.task_types

    def request(self, fields: Mapping[str, str], lyrics_limit: int) -> FollowUpRequest:
        """The form's values, checked (InputRejected names the first problem)."""
        values: dict[str, object] = {}
        for field in self.fields:
            value = field.read(fields.get(field.name, ""), lyrics_limit)
            if value is not None:
                values[field.key] = value
        return FollowUpRequest(self.operation, values)


@dataclass(frozen=True, slots=True)
class FollowUpRequest:
    """What the member asked for, checked: the form's values by MusicAPI's names (and, for a pair, the
    other clip's clip_id)."""

    operation: Operation
    values: Mapping[str, object]
    partner_clip_id: str | None = None

    def body(self, origin: ClipOrigin, clip_id: str, model: str) -> dict[str, object]:
        """The request MusicAPI gets for this operation on `clip_id`."""
        spec = CATALOG[self.operation]
        body: dict[str, object] = {}
        if spec.task_types[origin]:
            body["task_type"] = spec.task_types[origin]
        body[spec.clip_key] = [clip_id, self.partner_clip_id] if spec.pair else clip_id
        body.update(spec.body or {})
        if spec.model:
            body["mv"] = model
        body.update({**(spec.defaults or {}), **self.values})
        return body


_CREATE = {"custom_mode": True}

CATALOG: Mapping[Operation, Spec] = {
    Operation.EXTEND: Spec(
        Operation.EXTEND,
        Endpoint.CREATE,
        ResultKind.SONGS,
        {ClipOrigin.UPLOAD: "extend_upload_music", ClipOrigin.SONG: "extend_music"},
        fields=(
            LYRICS,
            STYLE,
            TITLE,
            FormField("continue_at", "continue_at", FieldKind.SECONDS, "continue_at", hint=True, limit=10),
        ),
        body=_CREATE,
        defaults={"continue_at": DEFAULT_CONTINUE_AT},
    ),
    Operation.COVER: Spec(
        Operation.COVER,
        Endpoint.CREATE,
        ResultKind.SONGS,
        {ClipOrigin.UPLOAD: "cover_upload_music", ClipOrigin.SONG: "cover_music"},
        fields=(
            FormField("style", "tags", FieldKind.LINE, "style", required=True, hint=True),
            FormField("lyrics", "prompt", FieldKind.LYRICS, "cover_lyrics"),
            TITLE,
            FormField("audio_weight", "audio_weight", FieldKind.WEIGHT, "audio_weight", hint=True, limit=10),
        ),
        body=_CREATE,
    ),
    Operation.ADD_VOCALS: Spec(
        Operation.ADD_VOCALS,
        Endpoint.CREATE,
        ResultKind.SONGS,
        {ClipOrigin.UPLOAD: "add_vocals"},
        fields=(
            FormField("lyrics", "prompt", FieldKind.LYRICS, "vocal_lyrics", required=True, hint=True),
            STYLE,
            TITLE,
        ),
        within_day=True,
        body=_CREATE,
    ),
    Operation.ADD_INSTRUMENTAL: Spec(
        Operation.ADD_INSTRUMENTAL,
        Endpoint.CREATE,
        ResultKind.SONGS,
        {ClipOrigin.UPLOAD: "add_instrumental"},
        fields=(FormField("style", "tags", FieldKind.LINE, "style", required=True, hint=True), TITLE),
        within_day=True,
        body=_CREATE,
    ),
    # Any two clips of the member's own; uploads worked in a client (musicapi.md).
    Operation.MASHUP: Spec(
        Operation.MASHUP,
        Endpoint.MASHUP,
        ResultKind.SONGS,
        {ClipOrigin.UPLOAD: "", ClipOrigin.SONG: ""},
        fields=(
            FormField(
                "description",
                "gpt_description_prompt",
                FieldKind.LINE,
                "description",
                required=True,
                hint=True,
                limit=400,
            ),
            STYLE,
            TITLE,
        ),
        body={"custom_mode": False},
        clip_key="mashup_clip_ids",
        pair=True,
    ),
    Operation.REMASTER: Spec(
        Operation.REMASTER,
        Endpoint.CREATE,
        ResultKind.SONGS,
        {ClipOrigin.SONG: "remaster"},
    ),
    # Stems, WAV, MIDI and BPM: documented for songs MusicAPI made; not offered on uploads.
    Operation.STEMS: Spec(
        Operation.STEMS,
        Endpoint.STEMS,
        ResultKind.FILES,
        {ClipOrigin.SONG: ""},
        clip_key="clip_id",
        model=False,
    ),
    Operation.WAV: Spec(
        Operation.WAV, Endpoint.WAV, ResultKind.LINK, {ClipOrigin.SONG: ""}, clip_key="clip_id", model=False
    ),
    Operation.MIDI: Spec(
        Operation.MIDI,
        Endpoint.MIDI,
        ResultKind.LINK,
        {ClipOrigin.SONG: ""},
        within_day=True,
        clip_key="clip_id",
        model=False,
        link_file=FileKind.MIDI,
    ),
    Operation.BPM: Spec(
        Operation.BPM, Endpoint.BPM, ResultKind.VALUE, {ClipOrigin.SONG: ""}, clip_key="clip_id", model=False
    ),
}


def offered(operations: frozenset[Operation], origin: ClipOrigin) -> list[Operation]:
    """The operations among `operations` that take a clip of `origin`, in the catalog's order."""
    return [op for op, s in CATALOG.items() if op in operations and s.takes(origin)]


def lyrics_limit(setting: int) -> int:
    """Characters of lyrics a form takes: the setting, within what Discord lets a member type."""
    return min(setting, MAX_INPUT)
