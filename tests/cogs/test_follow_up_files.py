"""The results of the follow-up catalog as files Discord plays in place, through the real stack: stems as
`<title> - <part>.mp3`, the songs of every operation that makes songs as attached mp3s with their cover
art. (A MIDI result's `.mid`, and a WAV that stays a link: with their operations in
`test_follow_up_catalog`.) The fake MusicAPI serves each file at the URL it names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cogs.test_attachments import links_of
from tests.cogs.test_follow_up_catalog import mashup_form, song_result
from tests.cogs.test_follow_ups import FAST, button, final_edit, open_modal, result, upload_clip
from tests.fakes import payloads
from tests.fakes.discord_api import ATTACHMENT_LIMIT, CHANNEL_ID, Call
from tests.fakes.musicapi import IMAGE_BYTES, SONG_BYTES, STEM_BYTES, Served
from tests.harness import Harness

STEMS = ["Night Drive (1) - vocals.mp3", "Night Drive (1) - instrumental.mp3"]


async def stems_of_song_1(harness: Harness, served: dict[int, Served] | None = None) -> tuple[Call, str]:
    """Make two songs, ask for the first one's stems; before MusicAPI finishes them, put the chosen files
    on its CDN (stem n's audio). The final edit, and the stems task's id."""
    songs, _ = await song_result(harness)
    harness.musicapi.generation_outcome = "running"
    modal = await open_modal(harness, button(songs, "Stems 1"), songs)
    submit = await harness.interact(payloads.modal_submit(modal, {}))
    await result(harness, submit, "⏳")
    task_id = next(t for t, body in harness.musicapi.generations.items() if body.get("_stems"))
    for n, file in (served or {}).items():
        harness.musicapi.files[f"{task_id}-stem-{n}.mp3"] = file
    harness.musicapi.generation_outcome = "succeeded"
    return await final_edit(harness, submit, "🎚️"), submit["token"]


async def test_stems_arrive_as_two_files_named_by_their_part(harness: Harness, store_url: str) -> None:
    async with harness.running(**FAST, database_url=store_url):
        edit, token = await stems_of_song_1(harness)
    assert [f.filename for f in edit.files] == STEMS
    assert [f.size for f in edit.files] == [STEM_BYTES, STEM_BYTES]
    assert all(f.head.startswith(b"ID3") for f in edit.files), "the bytes are the CDN's files"
    assert [(a["id"], a["filename"]) for a in edit.json["attachments"]] == list(enumerate(STEMS))
    content = edit.json["content"]
    assert "in stems: 2 files" in content and "📎" not in content
    assert f"[listen]({harness.musicapi.file_url('stems-')}" in content, "the links stay beside the files"
    assert harness.discord.files_of(f"@original:{token}") == STEMS


async def test_a_stem_over_discords_limit_comes_as_a_link_and_the_other_is_attached(harness: Harness) -> None:
    async with harness.running(**FAST):
        edit, _ = await stems_of_song_1(harness, {1: Served(ATTACHMENT_LIMIT + 1)})
    assert [f.filename for f in edit.files] == STEMS[1:]
    assert (
        f"📎 {STEMS[0]} is 10.0 MB, more than Discord takes here (10.0 MB), so it comes as a link."
        in edit.json["content"]
    )


def assert_songs_attached(harness: Harness, edit: Call) -> None:
    """Two new songs, each an attached `<title>.mp3` with its cover art shown from its attachment, and a
    link button to each file on MusicAPI's CDN."""
    task_id = list(harness.musicapi.generations)[-1]
    names = ["Night Drive (1).mp3", "cover-1.jpg", "Night Drive (2).mp3", "cover-2.jpg"]
    assert [(f.filename, f.size) for f in edit.files] == list(
        zip(names, [SONG_BYTES, IMAGE_BYTES, SONG_BYTES, IMAGE_BYTES], strict=True)
    )
    assert [e["image"]["url"] for e in edit.json["embeds"]] == [
        "attachment://cover-1.jpg",
        "attachment://cover-2.jpg",
    ]
    assert links_of(edit) == [harness.musicapi.file_url(f"{task_id}-song-{n}.mp3") for n in (1, 2)]


async def test_a_remastered_song_arrives_as_an_attached_mp3_with_its_cover_art(
    harness: Harness, store_url: str
) -> None:
    async with harness.running(**FAST, database_url=store_url):
        songs, _ = await song_result(harness)
        modal = await open_modal(harness, button(songs, "Remaster 2"), songs)
        submit = await harness.interact(payloads.modal_submit(modal, {}))
        edit = await final_edit(harness, submit, "remastered")
    assert_songs_attached(harness, edit)


@pytest.mark.parametrize(
    ("label", "values", "done"),
    [
        ("Add vocals", {1: "[Verse]\nCity lights"}, "with vocals"),
        ("Add instrumental", {1: "soul, brass"}, "with an instrumental"),
    ],
)
async def test_songs_made_on_an_upload_arrive_as_attached_mp3s(
    harness: Harness, label: str, values: dict[int, str], done: str
) -> None:
    async with harness.running(**FAST):
        components = await upload_clip(harness)
        modal = await open_modal(harness, button(components, label), components)
        submit = await harness.interact(payloads.modal_submit(modal, values))
        edit = await final_edit(harness, submit, done)
    assert_songs_attached(harness, edit)


async def test_a_mashup_arrives_as_attached_mp3s(harness: Harness) -> None:
    async with harness.running(**FAST):
        await upload_clip(harness)
        components = await upload_clip(harness)
        _, modal = await mashup_form(harness, components)
        submit = await harness.interact(payloads.modal_submit(modal, {1: "upbeat synth-pop blend"}))
        edit = await final_edit(harness, submit, "mashed up")
    assert_songs_attached(harness, edit)


# -- the size limit of the place a follow-up was asked in, kept for its result ----------------------------
MIB = 1024 * 1024


async def boosted_extend(harness: Harness) -> dict[str, Any]:
    """In a server that takes 50 MiB per file: upload, submit Extend from an interaction that says so;
    MusicAPI makes two 12 MiB songs and finishes after the answer is gone from memory (polled). The
    submit's payload."""
    harness.discord.attachment_limit = 50 * MIB
    harness.musicapi.song_bytes = 12 * MIB
    harness.musicapi.generation_outcome = "running"
    components = await upload_clip(harness)
    modal = await open_modal(harness, button(components, "Extend"), components)
    submit = payloads.modal_submit(modal, {})
    submit["attachment_size_limit"] = 50 * MIB
    await harness.interact(submit)
    await result(harness, submit, "⏳")
    return submit


async def test_a_later_result_is_held_to_the_limit_of_the_server_it_was_asked_in(
    harness: Harness, store_url: str
) -> None:
    async with harness.running(**FAST, database_url=store_url):
        submit = await boosted_extend(harness)
        harness.musicapi.generation_outcome = "succeeded"
        edit = await final_edit(harness, submit)
    assert [f.size for f in edit.files][::2] == [12 * MIB, 12 * MIB], "not links: the server takes them"
    assert "📎" not in edit.json["content"]


async def test_a_dm_of_a_later_result_takes_only_what_any_place_takes(harness: Harness) -> None:
    harness.discord.fail[("POST", f"/channels/{CHANNEL_ID}/messages")] = (
        403,
        {"message": "Missing Access", "code": 50001},
    )
    async with harness.running(**FAST):
        submit = await boosted_extend(harness)
        harness.expire_token(submit)
        harness.musicapi.generation_outcome = "succeeded"
        (dm,) = await harness.discord.wait_for(
            "POST", "/channels/", where=lambda c: not c.path.startswith(f"/channels/{CHANNEL_ID}/")
        )
    assert [f.filename for f in dm.files] == ["cover-1.jpg", "cover-2.jpg"]
    assert "📎 Night Drive (1).mp3 is 12.0 MB, more than Discord takes here (10.0 MB)" in dm.json["content"]
    # The DM is built anew within its own limit: its link buttons come once, not on top of the first try's.
    links = [c["label"] for row in dm.json["components"] for c in row["components"] if c.get("url")]
    assert links == ["File 1", "File 2"]
