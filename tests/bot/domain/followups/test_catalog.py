"""The catalog of operations: every operation has an entry, forms become MusicAPI's bodies or a reason,
and each operation takes only the clips MusicAPI takes it on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.settings import FOLLOW_UP_ACTIONS, setting_names
from bot.domain.followups.catalog import CATALOG, DEFAULT_CONTINUE_AT, MAX_INPUT, FollowUpRequest, offered
from bot.domain.followups.records import ClipOrigin, InputRejected, Operation
from bot.domain.texts import CATALOGS

T = TypeVar("T")


def _read(parse: Callable[[], T]) -> tuple[T | None, str | None]:
    try:
        return parse(), None
    except InputRejected as exc:
        return None, exc.key


def test_every_operation_has_an_entry_a_price_setting_and_its_texts() -> None:
    assert set(CATALOG) == set(Operation) and tuple(op.value for op in Operation) == FOLLOW_UP_ACTIONS
    for op, spec in CATALOG.items():
        assert spec.operation is op
        assert spec.price_setting in setting_names(), f"{spec.price_setting} is not a setting"
        assert len(spec.fields) <= 4, "a form holds the cost line and at most four fields"
        for locale, texts in CATALOGS.items():
            keys = [f"followup.button.{op}", f"followup.button.{op}_n", f"followup.working.{op}"]
            keys += [f"followup.done.{op}", f"followup.modal.{op}"]
            keys += [f"followup.field.{f.label}" for f in spec.fields]
            keys += [f"followup.input.no_{f.name}" for f in spec.fields if f.required]
            missing = [k for k in keys if k not in texts]
            assert not missing, f"{locale} lacks {missing}"


@given(
    op=st.sampled_from([op for op, spec in CATALOG.items() if spec.fields]),
    origin=st.sampled_from(ClipOrigin),
    values=st.dictionaries(
        st.sampled_from(["lyrics", "style", "title", "continue_at", "audio_weight", "description"]),
        st.text(max_size=5000),
    ),
)
def test_any_form_becomes_a_body_or_a_reason(
    op: Operation, origin: ClipOrigin, values: dict[str, str]
) -> None:
    spec = CATALOG[op]
    request, refused = _read(lambda: spec.request(values, 3000))
    if request is None:
        assert refused is not None and refused.startswith("followup.input.")
        return
    if not spec.takes(origin):
        return
    body = FollowUpRequest(op, request.values, "other" if spec.pair else None).body(
        origin, "clip", "sonic-v6"
    )
    assert body["mv"] == "sonic-v6"
    assert body[spec.clip_key] == (["clip", "other"] if spec.pair else "clip")
    assert len(str(body.get("gpt_description_prompt", ""))) <= 400
    assert len(str(body.get("prompt", ""))) <= min(3000, MAX_INPUT)
    assert "\n" not in str(body.get("tags", "")) and "\n" not in str(body.get("title", ""))
    assert not any(ord(c) < 32 and c not in "\n\t\r" for c in str(body.get("prompt", "")))
    for field in spec.fields:
        if field.required:
            assert body[field.key]


def test_an_empty_extend_continues_where_musicapi_recommends() -> None:
    body = CATALOG[Operation.EXTEND].request({}, 5000).body(ClipOrigin.SONG, "song-clip", "sonic-v6")
    assert body == {
        "task_type": "extend_music", "continue_clip_id": "song-clip", "custom_mode": True, "mv": "sonic-v6",
        "continue_at": DEFAULT_CONTINUE_AT,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("op", "origin", "task_type"),
    [
        (Operation.EXTEND, ClipOrigin.UPLOAD, "extend_upload_music"),
        (Operation.COVER, ClipOrigin.UPLOAD, "cover_upload_music"),
        (Operation.EXTEND, ClipOrigin.SONG, "extend_music"),
        (Operation.COVER, ClipOrigin.SONG, "cover_music"),
    ],
)
def test_task_types(op: Operation, origin: ClipOrigin, task_type: str) -> None:
    assert FollowUpRequest(op, {}).body(origin, "c", "sonic-v6")["task_type"] == task_type


def test_the_menu_offers_what_takes_each_kind_of_clip() -> None:
    everything = frozenset(Operation)
    assert offered(everything, ClipOrigin.UPLOAD)[:2] == [Operation.EXTEND, Operation.COVER]
    assert offered(frozenset({Operation.COVER}), ClipOrigin.SONG) == [Operation.COVER]
