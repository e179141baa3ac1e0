"""The follow-up menu under every clip the bot shows, and the forms operations ask what to make with.

Each clip gets a row of buttons, one per operation it takes (in the catalog's order); where they run out
(past five), the rest are offered in one select menu under the message, so every operation is at most
two clicks away. Buttons and menu are persistent: the clip they start from lives in the custom_id, so
they work after a restart. Forms say what the operation costs before anything is spent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, Self, cast

import discord

from bot.discord_app.interactions import answering_failures, refuse, texts_for
from bot.domain.followups.catalog import CATALOG, FieldKind, ResultKind, Spec, offered
from bot.domain.followups.grants import GRANT_PATTERN
from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation
from bot.domain.records import UploadRecord, UploadState
from bot.domain.texts import Texts

#: Discord shows at most five rows under a message, of at most five buttons each; a select menu takes a
#: row of its own and offers at most 25 options.
MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_OPTIONS = 25

#: An operation on a clip, as custom_ids carry it.
_OPS = "|".join(op.value for op in Operation)
_CLIP = rf"(?P<action>{_OPS}):(?P<origin>upload|song):(?P<id>\d{{1,19}})"


class ButtonPresses(Protocol):
    async def press(
        self,
        interaction: discord.Interaction,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        grant: str | None = None,
    ) -> None: ...

    async def paired(
        self,
        interaction: discord.Interaction,
        action: Operation,
        source: tuple[ClipOrigin, int],
        partner: str,
    ) -> None: ...


class _HasFollowUps(Protocol):
    @property
    def follow_ups(self) -> ButtonPresses: ...


def clip_custom_id(action: Operation, origin: ClipOrigin, source_id: int) -> str:
    return f"followup:{action.value}:{origin.value}:{source_id}"


def _style(action: Operation) -> discord.ButtonStyle:
    return discord.ButtonStyle.primary if action is Operation.EXTEND else discord.ButtonStyle.secondary


class FollowUpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"followup:{_CLIP}",
):
    """One operation on an upload's clip or on a song the bot made."""

    def __init__(
        self,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        label: str = "",
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action.value.title(),
                custom_id=clip_custom_id(action, origin, source_id),
                style=_style(action),
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
        return cls(Operation(match["action"]), ClipOrigin(match["origin"]), int(match["id"]))

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(_HasFollowUps, interaction.client)  # the bot that registered this button
        await host.follow_ups.press(interaction, self.action, self.origin, self.source_id)


class GrantedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"followup-grant:{_CLIP}:(?P<grant>{GRANT_PATTERN})",
):
    """An operation on someone else's clip, handed to a member through "Extend or cover" (see
    `domain.followups.grants`): shown only to them, carrying their grant."""

    def __init__(
        self, action: Operation, origin: ClipOrigin, source_id: int, grant: str, label: str = ""
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action.value.title(),
                custom_id=f"followup-grant:{action.value}:{origin.value}:{source_id}:{grant}",
                style=_style(action),
            )
        )
        self.action, self.origin, self.source_id, self.grant = action, origin, source_id, grant

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> GrantedButton:
        return cls(Operation(match["action"]), ClipOrigin(match["origin"]), int(match["id"]), match["grant"])

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(_HasFollowUps, interaction.client)
        await host.follow_ups.press(interaction, self.action, self.origin, self.source_id, grant=self.grant)


#: A follow-up button's custom_id (or a menu option's value), as found on a message the bot sent.
BUTTON = re.compile(rf"followup:{_CLIP}")


class PartnerMenu(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=rf"followup-pair:{_CLIP}",
):
    """The member's own clips to pair one with (Mashup): each option's value is `upload:12` or `song:34`."""

    def __init__(
        self,
        action: Operation,
        origin: ClipOrigin,
        source_id: int,
        options: Sequence[discord.SelectOption] = (),
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"followup-pair:{action.value}:{origin.value}:{source_id}",
                options=list(options) or [discord.SelectOption(label="-", value="-")],
            )
        )
        self.action, self.origin, self.source_id = action, origin, source_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PartnerMenu:
        return cls(Operation(match["action"]), ClipOrigin(match["origin"]), int(match["id"]))

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        values = dict(interaction.data or {}).get("values")
        chosen = str(values[0]) if isinstance(values, list) and values else ""
        host = cast(_HasFollowUps, interaction.client)
        await host.follow_ups.paired(interaction, self.action, (self.origin, self.source_id), chosen)


#: A partner clip, as a PartnerMenu option's value and in a form's custom_id.
PARTNER = re.compile(r"(?P<origin>upload|song):(?P<id>\d{1,19})")


def partner_menu(
    action: Operation,
    origin: ClipOrigin,
    source_id: int,
    clips: Sequence[tuple[ClipOrigin, int, str]],
    texts: Texts,
) -> discord.ui.View:
    """A select menu of the member's clips (origin, id, label) to pair the clip with."""
    options = [
        discord.SelectOption(label=(label.strip() or "-")[:100], value=f"{o.value}:{i}")
        for o, i, label in clips
    ]
    menu = PartnerMenu(action, origin, source_id, options[:MAX_OPTIONS])
    menu.item.placeholder = texts("followup.pair.placeholder")[:150]
    view = discord.ui.View(timeout=None)
    view.add_item(menu)
    return view


class MoreMenu(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"followup-more:(?P<origin>upload|song):(?P<id>\d{1,19})",
):
    """The operations that did not fit as buttons, for every clip of a message: each option's value is
    the custom_id its button would have had."""

    def __init__(
        self, origin: ClipOrigin, first_id: int, options: Sequence[discord.SelectOption] = ()
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"followup-more:{origin.value}:{first_id}",
                options=list(options) or [discord.SelectOption(label="-", value="-")],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MoreMenu:
        return cls(ClipOrigin(match["origin"]), int(match["id"]))

    @answering_failures
    async def callback(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        values = data.get("values")
        chosen = BUTTON.fullmatch(str(values[0])) if isinstance(values, list) and values else None
        host = cast(_HasFollowUps, interaction.client)
        if chosen is None:  # not an option this bot makes: answered as a clip it cannot find
            await refuse(interaction, texts_for(interaction)("followup.gone"))
            return
        await host.follow_ups.press(
            interaction, Operation(chosen["action"]), ClipOrigin(chosen["origin"]), int(chosen["id"])
        )


def buttons_on(message: discord.Message) -> list[tuple[Operation, ClipOrigin, int, str]]:
    """The operations under a message, as buttons or menu options: (operation, origin, clip's id, label),
    in order."""
    found = []
    for row in message.components:
        for child in getattr(row, "children", []):
            choices = [(str(getattr(child, "custom_id", "") or ""), str(getattr(child, "label", "") or ""))]
            choices += [(o.value, o.label) for o in getattr(child, "options", [])]
            for custom_id, label in choices:
                if match := BUTTON.fullmatch(custom_id):
                    found.append(
                        (Operation(match["action"]), ClipOrigin(match["origin"]), int(match["id"]), label)
                    )
    return found


def button_label(texts: Texts, action: Operation, n: int, among: int) -> str:
    """`Extend`, or `Extend 2` when the message shows several clips."""
    return texts(f"followup.button.{action.value}" + ("_n" if among > 1 else ""), n=n)[:80]


def _menu(
    view: discord.ui.View,
    texts: Texts,
    actions: frozenset[Operation],
    origin: ClipOrigin,
    numbered: Sequence[tuple[int, int]],
    among: int,
) -> None:
    """A row of buttons per clip: (its id, its number in the message); numbers show when the message has
    several. Operations past the fifth go into one select menu on the last row."""
    operations = offered(actions, origin)
    buttons, rest = operations[:MAX_PER_ROW], operations[MAX_PER_ROW:]
    clips = numbered[: MAX_ROWS - 1] if rest else numbered[:MAX_ROWS]
    options: list[discord.SelectOption] = []
    for row, (source_id, n) in enumerate(clips):
        for action in buttons:
            view.add_item(
                FollowUpButton(action, origin, source_id, button_label(texts, action, n, among), row=row)
            )
        options += [
            discord.SelectOption(
                label=button_label(texts, action, n, among), value=clip_custom_id(action, origin, source_id)
            )
            for action in rest
        ]
    if options:
        menu = MoreMenu(origin, clips[0][0], options[:MAX_OPTIONS])
        menu.item.placeholder = texts("followup.more")[:150]
        menu.item.row = len(clips)
        view.add_item(menu)


def upload_buttons(
    records: Sequence[UploadRecord], texts: Texts, actions: frozenset[Operation]
) -> discord.ui.View | None:
    """The menu for each upload of an answer that has a clip_id; None when there is none."""
    clips = _upload_clips(records)
    if not clips or not offered(actions, ClipOrigin.UPLOAD):
        return None
    view = discord.ui.View(timeout=None)
    _menu(view, texts, actions, ClipOrigin.UPLOAD, clips, len(records))
    return view


def _upload_clips(records: Sequence[UploadRecord]) -> list[tuple[int, int]]:
    """(id, number in the message) of each upload of an answer that has a clip_id."""
    return [
        (r.key, r.position + 1) for r in records if r.state is UploadState.SUCCEEDED and r.clip_id and r.id
    ]


class PreparedMenu(discord.ui.View):
    """A menu given as the components Discord receives. Its buttons and select menu are answered by the
    DynamicItems registered at startup (their custom_ids follow those templates), so the message needs no
    discord.py item per button and the view is not kept after sending.

    One is made for every answer, without View's own set-up (a random id, a future for its end, its
    items walked), which serves a view that handles its items. discord.py reads a view it sends through
    the methods below, and keeps one only when it is not finished: this one says it is, having nothing to
    listen for, so that no way of sending it (`send_message` does not ask `is_dispatchable`) reaches
    View's own state. (tests/bot/discord_app/followups/test_views.py holds them to a plain View's.)"""

    def __init__(self, components: list[dict[str, Any]]) -> None:
        self._components = components

    @property
    def timeout(self) -> float | None:
        return None

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        """Kept at None: discord.py gives a dispatchable view of an ephemeral message 15 minutes."""

    @property
    def children(self) -> list[discord.ui.Item[Self]]:
        return []

    def to_components(self) -> list[dict[str, Any]]:
        return self._components

    def has_components_v2(self) -> bool:
        return False

    def is_finished(self) -> bool:
        return True

    def is_dispatchable(self) -> bool:
        return False

    def add_item(self, item: discord.ui.Item[Any]) -> Self:
        raise TypeError("a prepared menu is sent as it was prepared: add to the shape instead")

    def __repr__(self) -> str:
        return f"<PreparedMenu rows={len(self._components)}>"


class UploadMenus:
    """`upload_buttons` for the answer of every upload, each shape built once: the components of a
    language and a set of numbered clips are made through discord.py's items the first time, with each
    clip's place for its id; later answers of that shape fill in their clips' ids."""

    #: Shapes kept at most (a language and which of up to MAX_ROWS clips of a message have a clip_id).
    KEPT = 512

    def __init__(self, actions: frozenset[Operation]) -> None:
        self._actions = actions
        self._any = bool(offered(actions, ClipOrigin.UPLOAD))
        self._shapes: dict[tuple[str, tuple[int, ...], int], list[dict[str, Any]]] = {}

    def __call__(self, records: Sequence[UploadRecord], texts: Texts) -> discord.ui.View | None:
        clips = _upload_clips(records) if self._any else []
        if not clips:
            return None
        key = (texts.locale, tuple(n for _, n in clips), len(records))
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= self.KEPT:
                self._shapes.clear()
            view = discord.ui.View(timeout=None)
            # Each clip's place in the list stands for its id: custom_ids and option values end in it.
            places = [(place, n) for place, (_, n) in enumerate(clips)]
            _menu(view, texts, self._actions, ClipOrigin.UPLOAD, places, key[2])
            shape = self._shapes[key] = view.to_components()
        ids = [str(clip_id) for clip_id, _ in clips]
        return PreparedMenu([_filled(row, ids) for row in shape])


def _filled(component: dict[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """A copy of a component of a prepared shape, each custom_id and option value ending in its clip's id
    instead of its place."""
    filled = dict(component)
    if "custom_id" in filled:
        filled["custom_id"] = _with_id(filled["custom_id"], ids)
    if "components" in filled:
        filled["components"] = [_filled(child, ids) for child in filled["components"]]
    if "options" in filled:
        filled["options"] = [{**o, "value": _with_id(o["value"], ids)} for o in filled["options"]]
    return filled


def _with_id(custom_id: str, ids: Sequence[str]) -> str:
    head, _, place = custom_id.rpartition(":")
    return f"{head}:{ids[int(place)]}"


def _menu_songs(record: FollowUpRecord, actions: frozenset[Operation]) -> list[tuple[int, int]]:
    """(id, number in the message) of each song of a result that gets a menu: none unless the result is
    songs and FOLLOW_UPS offers an operation on songs."""
    yields_songs = CATALOG[record.action].result is ResultKind.SONGS
    if (
        record.state is not FollowUpState.SUCCEEDED
        or not yields_songs
        or not offered(actions, ClipOrigin.SONG)
    ):
        return []
    return [(s.id, n) for n, s in enumerate(record.songs, start=1) if s.id is not None]


def has_song_menu(record: FollowUpRecord, actions: frozenset[Operation]) -> bool:
    """Whether `song_buttons` gives the result a menu (its answer then points to it)."""
    return bool(_menu_songs(record, actions))


def song_buttons(
    record: FollowUpRecord, texts: Texts, actions: frozenset[Operation]
) -> discord.ui.View | None:
    """The menu for each song of a result, so that members can go on."""
    songs = _menu_songs(record, actions)
    if not songs:
        return None
    view = discord.ui.View(timeout=None)
    _menu(view, texts, actions, ClipOrigin.SONG, songs, len(record.songs))
    return view


#: The custom_id of a follow-up's form: it names the clip, so a submit is understood after a restart too.
FORM = re.compile(
    rf"followup-form:{_CLIP}(?::with:(?P<partner>(?:upload|song):\d{{1,19}}))?(?::(?P<grant>{GRANT_PATTERN}))?"
)


def follow_up_form(
    spec: Spec,
    origin: ClipOrigin,
    source_id: int,
    texts: Texts,
    *,
    credits: int,
    model: str,
    lyrics_limit: int,
    grant: str | None = None,
    partner: str | None = None,
) -> discord.ui.Modal:
    """The operation's form: its first line says what it costs, then its fields (at most four). Each
    field's custom_id is its name; the submit is read from the interaction by `form_fields` (no in-memory
    modal is needed to understand it)."""
    action = spec.operation
    modal = discord.ui.Modal(
        title=texts(f"followup.modal.{action.value}")[:45],
        custom_id=f"followup-form:{action.value}:{origin.value}:{source_id}"
        + (f":with:{partner}" if partner else "")
        + (f":{grant}" if grant else ""),
    )
    if spec.synchronous:  # WAV, MIDI, BPM: MusicAPI documents no refund when its answer says it failed
        cost = "followup.modal.cost_sync"
    elif spec.result is ResultKind.SONGS:
        cost = "followup.modal.cost"
    else:
        cost = "followup.modal.cost_plain"
    price = texts.plural("count.credits", credits)
    modal.add_item(discord.ui.TextDisplay(texts(cost, cost=price, model=model)))
    for field in spec.fields:
        key = f"followup.field.{field.label}"
        text: discord.ui.TextInput[Any] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph if field.kind is FieldKind.LYRICS else discord.TextStyle.short,
            custom_id=field.name,
            required=field.required,
            max_length=field.max_length(lyrics_limit),
        )
        description = texts(f"{key}.hint")[:100] if field.hint else None
        modal.add_item(discord.ui.Label(text=texts(key)[:45], description=description, component=text))
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
