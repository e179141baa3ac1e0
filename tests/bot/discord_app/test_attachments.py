"""Edits with files by token alone, through discord.py's webhook adapter, against the fake Discord: it
reads the multipart body and refuses what Discord refuses (a file over the limit, more than ten files,
an `attachment://` name that matches no file)."""

from __future__ import annotations

import tempfile

import aiohttp
import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.attachments import Bundle, Outgoing, edit_by_token
from bot.domain.media import Fetched, FileKind, Miss, Missed, Wanted
from tests.fakes.discord_api import APP_ID, ATTACHMENT_LIMIT
from tests.harness import Harness

TOKEN = "itoken-files"


def fetched(name: str, size: int, kind: FileKind = FileKind.AUDIO, n: int = 1) -> Fetched:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the test
    spool.write(b"\0" * size)
    spool.seek(0)
    return Fetched(Wanted(f"https://cdn.example.org/{name}", name, kind, n), spool, size)


async def send(harness: Harness, message: Outgoing) -> None:
    async with aiohttp.ClientSession() as session:
        await edit_by_token(session, APP_ID, TOKEN, message)


async def test_an_edit_lists_its_files_and_the_fake_reads_them(harness: Harness) -> None:
    bundle = Bundle([fetched("Song.mp3", 3000), fetched("cover-1.jpg", 200, FileKind.IMAGE)])
    embed = discord.Embed(description="x").set_image(url="attachment://cover-1.jpg")
    await send(harness, Outgoing("hello", None, bundle, [embed]))
    (call,) = harness.discord.sent("PATCH", f"/webhooks/{APP_ID}/{TOKEN}")
    assert [(f.field, f.filename, f.size) for f in call.files] == [
        ("files[0]", "Song.mp3", 3000), ("files[1]", "cover-1.jpg", 200),
    ]  # fmt: skip
    assert call.json["content"] == "hello" and call.json["components"] == []
    assert call.json["attachments"] == [
        {"id": 0, "filename": "Song.mp3"},
        {"id": 1, "filename": "cover-1.jpg"},
    ]
    assert harness.discord.files_of(f"@original:{TOKEN}") == ["Song.mp3", "cover-1.jpg"]


async def test_an_edit_without_a_bundle_keeps_the_files_and_an_empty_one_removes_them(
    harness: Harness,
) -> None:
    await send(harness, Outgoing("one", None, Bundle([fetched("Song.mp3", 10)])))
    await send(harness, Outgoing("two"))
    assert harness.discord.files_of(f"@original:{TOKEN}") == ["Song.mp3"]
    await send(harness, Outgoing("three", None, Bundle()))
    assert harness.discord.files_of(f"@original:{TOKEN}") == []


@pytest.mark.parametrize(
    ("files", "embed_ref", "status"),
    [
        ([("big.mp3", ATTACHMENT_LIMIT + 1)], None, 413),
        ([(f"{n}.mp3", 10) for n in range(11)], None, 400),
        ([("Song.mp3", 10)], "attachment://cover-9.jpg", 400),
    ],
)
async def test_the_fake_refuses_what_discord_refuses(
    harness: Harness, files: list[tuple[str, int]], embed_ref: str | None, status: int
) -> None:
    embeds = [discord.Embed(description="x").set_image(url=embed_ref)] if embed_ref else []
    bundle = Bundle([fetched(name, size) for name, size in files])
    with pytest.raises(discord.HTTPException) as refused:
        await send(harness, Outgoing("x", None, bundle, embeds))
    assert refused.value.status == status
    assert harness.discord.files_of(f"@original:{TOKEN}") == []


@given(st.lists(st.integers(0, 60), max_size=10), st.integers(0, 60))
def test_a_bundle_held_to_a_smaller_limit_sends_the_larger_files_as_links(
    sizes: list[int], limit: int
) -> None:
    earlier = Missed(Wanted("https://cdn.example.org/gone.mp3", "gone.mp3"), Miss.UNAVAILABLE)
    bundle = Bundle([fetched(f"{n}.mp3", size) for n, size in enumerate(sizes)], [earlier])
    try:
        held = bundle.held_to(limit)
        assert [f.wanted.filename for f in held.fetched] == [
            f"{n}.mp3" for n, s in enumerate(sizes) if s <= limit
        ]
        assert held.missed[0] is earlier
        assert [(m.wanted.filename, m.reason, m.size, m.limit) for m in held.missed[1:]] == [
            (f"{n}.mp3", Miss.TOO_LARGE, s, limit) for n, s in enumerate(sizes) if s > limit
        ]
        assert (held is bundle) == all(s <= limit for s in sizes)
    finally:
        for item in bundle.fetched:
            item.close()
