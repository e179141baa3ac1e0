"""The Extend and Cover buttons (persistent: the clip they start from lives in the custom_id, so they work
after a restart) and the modals that ask what to make, with the cost, before anything is spent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, cast

import discord

from bot.domain.followups.grants import GRANT_PATTERN
from bot.domain.followups.records import (
    CREATE_CREDITS,
    MAX_STYLE,
    MAX_TITLE,
    ClipOrigin,
    FollowUpAction,
    FollowUpRecord,
    FollowUpState,
    lyrics_limit,
)
from bot.domain.records import UploadRecord, UploadState
from bot.domain.texts import Texts

#: Discord shows at most five rows of buttons under a message.
MAX_ROWS = 5


class ButtonPresses(Protocol):
    async def press(
        self,
        interaction: discord.Interaction,
        action: FollowUpAction,
        origin: ClipOrigin,
        source_id: int,
        grant: str | None = None,
    ) -> None: ...


class _HasFollowUps(Protocol):
    @property
    def follow_ups(self) -> ButtonPresses: ...


class FollowUpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"followup:(?P<action>extend|cover):(?P<origin>upload|song):(?P<id>\d{1,19})",
):
    """Extend or Cover on an upload's clip or on a song the bot made."""

    def __init__(
        self,
        action: FollowUpAction,
        origin: ClipOrigin,
        source_id: int,
        label: str = "",
        row: int | None = None,
    ) -> None:
        style = (
            discord.ButtonStyle.primary if action is FollowUpAction.EXTEND else discord.ButtonStyle.secondary
        )
        super().__init__(
            discord.ui.Button(
                label=label or action.value.title(),
                custom_id=f"followup:{action.value}:{origin.value}:{source_id}",
                style=style,
                row=row,
            )
        )
        self.action = action
        self.origin = origin
        self.source_id = source_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FollowUpButton:
        return cls(FollowUpAction(match["action"]), ClipOrigin(match["origin"]), int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(_HasFollowUps, interaction.client)  # the bot that registered this button
        await host.follow_ups.press(interaction, self.action, self.origin, self.source_id)


class GrantedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"followup-grant:(?P<action>extend|cover):(?P<origin>upload|song):(?P<id>\d{{1,19}}):(?P<grant>{GRANT_PATTERN})",
):
    """Extend or Cover on someone else's clip, handed to a member through "Extend or cover" (see
    `domain.followups.grants`): shown only to them, carrying their grant."""

    def __init__(
        self, action: FollowUpAction, origin: ClipOrigin, source_id: int, grant: str, label: str = ""
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action.value.title(),
                custom_id=f"followup-grant:{action.value}:{origin.value}:{source_id}:{grant}",
                style=discord.ButtonStyle.primary
                if action is FollowUpAction.EXTEND
                else discord.ButtonStyle.secondary,
            )
        )
        self.action, self.origin, self.source_id, self.grant = action, origin, source_id, grant

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> GrantedButton:
        return cls(
            FollowUpAction(match["action"]), ClipOrigin(match["origin"]), int(match["id"]), match["grant"]
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(_HasFollowUps, interaction.client)
        await host.follow_ups.press(interaction, self.action, self.origin, self.source_id, grant=self.grant)


#: A follow-up button's custom_id, as found on a message the bot sent (for "Extend or cover").
BUTTON = re.compile(r"followup:(?P<action>extend|cover):(?P<origin>upload|song):(?P<id>\d{1,19})")


def buttons_on(message: discord.Message) -> list[tuple[FollowUpAction, ClipOrigin, int, str]]:
    """The Extend and Cover buttons under a message: (action, origin, clip's id, label), in order."""
    found = []
    for row in message.components:
        for child in getattr(row, "children", []):
            match = BUTTON.fullmatch(str(getattr(child, "custom_id", "") or ""))
            if match:
                found.append(
                    (
                        FollowUpAction(match["action"]),
                        ClipOrigin(match["origin"]),
                        int(match["id"]),
                        str(child.label or ""),
                    )
                )
    return found


def _buttons(
    view: discord.ui.View,
    texts: Texts,
    actions: frozenset[FollowUpAction],
    origin: ClipOrigin,
    numbered: Sequence[tuple[int, int]],
    among: int,
) -> None:
    """A row per clip: (its id, its number in the message); numbers show when the message has several."""
    for row, (source_id, n) in enumerate(numbered[:MAX_ROWS]):
        for action in (FollowUpAction.EXTEND, FollowUpAction.COVER):
            if action not in actions:
                continue
            key = f"followup.button.{action.value}" + ("_n" if among > 1 else "")
            view.add_item(FollowUpButton(action, origin, source_id, texts(key, n=n), row=row))


def upload_buttons(
    records: Sequence[UploadRecord], texts: Texts, actions: frozenset[FollowUpAction]
) -> discord.ui.View | None:
    """Extend and Cover for each upload of an answer that has a clip_id; None when there is none."""
    clips = [
        (r.key, r.position + 1) for r in records if r.state is UploadState.SUCCEEDED and r.clip_id and r.id
    ]
    if not clips or not actions:
        return None
    view = discord.ui.View(timeout=None)
    _buttons(view, texts, actions, ClipOrigin.UPLOAD, clips, len(records))
    return view


def song_buttons(
    record: FollowUpRecord, texts: Texts, actions: frozenset[FollowUpAction]
) -> discord.ui.View | None:
    """Extend and Cover for each song of a result, so that members can chain."""
    songs = [(s.id, n) for n, s in enumerate(record.songs, start=1) if s.id is not None]
    if record.state is not FollowUpState.SUCCEEDED or not songs or not actions:
        return None
    view = discord.ui.View(timeout=None)
    _buttons(view, texts, actions, ClipOrigin.SONG, songs, len(record.songs))
    return view


#: The custom_id of a follow-up's form: it names the clip, so a submit is understood after a restart too.
FORM = re.compile(
    rf"followup-form:(?P<action>extend|cover):(?P<origin>upload|song):(?P<id>\d{{1,19}})(?::(?P<grant>{GRANT_PATTERN}))?"
)


def follow_up_form(
    action: FollowUpAction,
    origin: ClipOrigin,
    source_id: int,
    texts: Texts,
    model: str,
    grant: str | None = None,
) -> discord.ui.Modal:
    """Extend: lyrics, style, title, where to continue. Cover: style (required), lyrics, title, closeness.
    The first line says what it costs. Each field's custom_id is its name; the submit is read from the
    interaction by `form_fields` (no in-memory modal is needed to understand it)."""
    modal = discord.ui.Modal(
        title=texts(f"followup.modal.{action.value}")[:45],
        custom_id=f"followup-form:{action.value}:{origin.value}:{source_id}" + (f":{grant}" if grant else ""),
    )
    modal.add_item(discord.ui.TextDisplay(texts("followup.modal.cost", credits=CREATE_CREDITS, model=model)))
    words = lyrics_limit(model)
    if action is FollowUpAction.EXTEND:
        layout = [
            ("lyrics", "followup.field.lyrics", True, False, words, True),
            ("style", "followup.field.style", False, False, MAX_STYLE, True),
            ("title", "followup.field.title", False, False, MAX_TITLE, False),
            ("continue_at", "followup.field.continue_at", False, False, 10, True),
        ]
    else:
        layout = [
            ("style", "followup.field.style", False, True, MAX_STYLE, True),
            ("lyrics", "followup.field.cover_lyrics", True, False, words, False),
            ("title", "followup.field.title", False, False, MAX_TITLE, False),
            ("audio_weight", "followup.field.audio_weight", False, False, 10, True),
        ]
    for name, key, paragraph, required, limit, hint in layout:
        field: discord.ui.TextInput[Any] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
            custom_id=name,
            required=required,
            max_length=limit,
        )
        description = texts(f"{key}.hint")[:100] if hint else None
        modal.add_item(discord.ui.Label(text=texts(key)[:45], description=description, component=field))
    return modal


def form_fields(data: Any) -> dict[str, str]:
    """The values of a submitted form, by field name, from the interaction's raw data."""
    fields: dict[str, str] = {}
    components = data.get("components") if isinstance(data, dict) else None
    for item in components if isinstance(components, list) else []:
        inner = [item.get("component")] if item.get("type") == 18 else item.get("components") or []
        for field in inner:
            if isinstance(field, dict) and isinstance(field.get("custom_id"), str):
                value = field.get("value")
                fields[field["custom_id"]] = value if isinstance(value, str) else ""
    return fields
