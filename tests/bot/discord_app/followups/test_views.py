"""Every menu and form the follow-up catalog makes, in every language, within what Discord accepts (the
fake Discord's own checks), with every operation at most two clicks from its clip."""

from __future__ import annotations

import time

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.followups.views import (
    BUTTON,
    FORM,
    UploadMenus,
    follow_up_form,
    partner_menu,
    song_buttons,
    upload_buttons,
)
from bot.domain.followups.catalog import CATALOG, offered
from bot.domain.followups.records import MAX_SONGS, ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.records import SourceKind, UploadRecord, UploadState
from bot.domain.texts import CATALOGS, Texts
from tests.bot.domain.test_rendering import ONE_CREDIT, TWO_CREDITS
from tests.fakes.discord_api import invalid_components, invalid_modal

LOCALES = sorted(CATALOGS)
BIG = 10**18  # ids as long as Discord's snowflakes: the custom_ids' worst case


def uploads(count: int) -> list[UploadRecord]:
    return [
        UploadRecord(
            interaction_id=1,
            application_id=1,
            interaction_token="t",
            token_expires_at=time.time(),
            user_id=7,
            guild_id=None,
            channel_id=None,
            locale="en-US",
            source_kind=SourceKind.LINK,
            label="x",
            id=BIG + n,
            position=n,
            state=UploadState.SUCCEEDED,
            clip_id=f"clip-{n}",
        )
        for n in range(count)
    ]


def result(count: int, action: Operation = Operation.EXTEND) -> FollowUpRecord:
    return FollowUpRecord(
        user_id=7, guild_id=None, channel_id=None, application_id=1, interaction_id=1, interaction_token="t",
        token_expires_at=0, locale="en-US", action=action, origin=ClipOrigin.UPLOAD, source_id=1,
        source_clip_id="c", source_label="x", task_type="", model="sonic-v6", state=FollowUpState.SUCCEEDED,
        songs=[Song(clip_id=f"s{n}", id=BIG + n, position=n) for n in range(count)],
    )  # fmt: skip


def reachable(view: discord.ui.View) -> set[tuple[str, str]]:
    """(operation, clip id) pairs a member reaches: a button (one click) or a menu option (two)."""
    found = set()
    for item in view.to_components():
        for child in item["components"]:
            for value in [child.get("custom_id", "")] + [o["value"] for o in child.get("options", [])]:
                if match := BUTTON.fullmatch(str(value)):
                    found.add((match["action"], match["id"]))
    return found


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_an_upload_answer_offers_every_operation_within_discords_limits(locale: str, count: int) -> None:
    view = upload_buttons(uploads(count), Texts(locale), frozenset(Operation))
    assert view is not None
    assert invalid_components(view.to_components()) is None
    ops = offered(frozenset(Operation), ClipOrigin.UPLOAD)
    assert reachable(view) == {(op.value, str(BIG + n)) for op in ops for n in range(count)}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("count", range(1, MAX_SONGS + 1))
def test_a_result_offers_every_operation_on_each_song_within_discords_limits(locale: str, count: int) -> None:
    view = song_buttons(result(count), Texts(locale), frozenset(Operation))
    assert view is not None
    assert invalid_components(view.to_components()) is None
    ops = offered(frozenset(Operation), ClipOrigin.SONG)
    shown = min(count, 4)  # a row per song and the menu's row: four songs fit
    assert reachable(view) == {(op.value, str(BIG + n)) for op in ops for n in range(shown)}


@given(
    answers=st.lists(
        st.tuples(st.sampled_from(LOCALES), st.lists(st.booleans(), min_size=1, max_size=10)),
        min_size=1,
        max_size=6,
    ),
    ids=st.lists(st.integers(1, BIG * 9), min_size=10, max_size=10, unique=True),
    actions=st.sets(st.sampled_from(list(Operation))),
)
def test_prepared_upload_menus_are_the_menus_their_items_make(
    answers: list[tuple[str, list[bool]]], ids: list[int], actions: set[Operation]
) -> None:
    """The menu each upload answer gets (a shape built once per language and numbered clips, their ids
    filled in) is exactly the one discord.py's items make for those uploads: one UploadMenus answers a run
    of answers in other languages and shapes, as the bot's does, each twice with other ids."""
    menus = UploadMenus(frozenset(actions))
    for n, (locale, succeeded) in enumerate(answers * 2):
        records = uploads(len(succeeded))
        for record, ok, upload_id in zip(records, succeeded, ids[n % 2 :] + ids[: n % 2], strict=False):
            record.id = upload_id
            record.state = UploadState.SUCCEEDED if ok else UploadState.FAILED
        expected = upload_buttons(records, Texts(locale), frozenset(actions))
        prepared = menus(records, Texts(locale))
        if expected is None:
            assert prepared is None
            continue
        assert prepared is not None
        assert prepared.to_components() == expected.to_components()
        assert not prepared.is_dispatchable()  # nothing kept per message: startup's DynamicItems answer


def test_a_prepared_menu_takes_no_more_items() -> None:
    menu = UploadMenus(frozenset(Operation))(uploads(1), Texts(None))
    assert menu is not None
    with pytest.raises(TypeError):
        menu.add_item(discord.ui.Button(label="x", url="https://example.com"))


async def test_a_prepared_menu_answers_what_discord_py_asks_of_a_view_it_sends() -> None:
    """It skips View's own set-up: what discord.py reads of a view when it sends one (components v2 or
    not, to be kept, the timeout it may set for an ephemeral message) must still be answered, as a View
    holding nothing to dispatch answers it; and it is finished, so that no way of sending it keeps it.
    (Run in a loop, as the bot makes them.)"""
    menu = UploadMenus(frozenset(Operation))(uploads(1), Texts(None))
    assert menu is not None
    plain = discord.ui.View(timeout=None)
    for question in ("has_components_v2", "is_dispatchable"):
        assert getattr(menu, question)() == getattr(plain, question)(), question
    assert menu.is_finished() and not plain.is_finished()
    assert menu.timeout is plain.timeout is None
    menu.timeout = 15 * 60.0
    assert menu.timeout is None
    assert menu.children == plain.children == []
    assert repr(menu).startswith("<PreparedMenu")


def test_files_values_and_links_carry_no_menu() -> None:
    for op in (Operation.STEMS, Operation.WAV, Operation.BPM):
        assert song_buttons(result(2, op), Texts(None), frozenset(Operation)) is None


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("op", list(Operation))
def test_every_form_is_one_discord_accepts_in_every_language(locale: str, op: Operation) -> None:
    spec = CATALOG[op]
    origin = next(iter(spec.task_types))
    grant = f"{10**11}.{'a' * 16}"
    form = follow_up_form(
        spec, origin, BIG, Texts(locale), credits=15, model="sonic-v6-mini", lyrics_limit=5000,
        grant=None if spec.pair else grant, partner=f"song:{BIG}" if spec.pair else None,
    )  # fmt: skip
    data = form.to_dict()
    assert invalid_modal(data) is None, data
    match = FORM.fullmatch(data["custom_id"])
    assert match is not None and match["action"] == op.value


@pytest.mark.parametrize("locale", LOCALES)
def test_the_list_of_clips_to_pair_with_is_a_menu_discord_accepts(locale: str) -> None:
    clips = [(ClipOrigin.SONG, BIG + n, "a title " * 30) for n in range(30)]
    view = partner_menu(Operation.MASHUP, ClipOrigin.UPLOAD, BIG, clips, Texts(locale))
    assert invalid_components(view.to_components()) is None


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("op", list(Operation))
def test_a_forms_cost_line_promises_a_refund_only_where_musicapi_gives_one(
    locale: str, op: Operation
) -> None:
    """Songs and stems are tasks MusicAPI refunds when they fail; WAV, MIDI and BPM are synchronous calls
    it documents no refund for, so their form (when dearer than one click) promises none."""
    spec = CATALOG[op]
    texts = Texts(locale)
    form = follow_up_form(
        spec, next(iter(spec.task_types)), BIG, texts, credits=5, model="sonic-v6", lyrics_limit=5000,
        partner=f"song:{BIG}" if spec.pair else None,
    )  # fmt: skip
    cost = form.to_dict()["components"][0]["content"]
    five = texts.plural("count.credits", 5)
    refunding = {
        texts("followup.modal.cost", cost=five, model="sonic-v6"),
        texts("followup.modal.cost_plain", cost=five),
    }
    if spec.synchronous:
        assert cost == texts("followup.modal.cost_sync", cost=five) and cost not in refunding
    else:
        assert cost in refunding


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("op", list(Operation))
def test_a_forms_cost_counts_one_credit_in_the_singular_and_more_in_the_plural(
    locale: str, op: Operation
) -> None:
    spec, texts = CATALOG[op], Texts(locale)

    def cost(credits: int) -> str:
        form = follow_up_form(
            spec, next(iter(spec.task_types)), BIG, texts, credits=credits, model="sonic-v6", lyrics_limit=5000,
            partner=f"song:{BIG}" if spec.pair else None,
        )  # fmt: skip
        return str(form.to_dict()["components"][0]["content"])

    one, two = cost(1), cost(2)
    assert (
        f"**{texts.plural('count.credits', 1)}**" in one and f"**{texts.plural('count.credits', 2)}**" in two
    )
    assert f"**{ONE_CREDIT[locale]}**" in one and f"**{TWO_CREDITS[locale]}**" in two, (one, two)
