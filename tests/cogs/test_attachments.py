"""Results as files through the real stack: songs attached as `<title>.mp3` with their cover art, a
member's `/upload file:` in its answer; a file that does not fit or does not come goes as a link, with a
line saying why, in time. The fake Discord reads each multipart body and refuses what Discord refuses."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.bot.web.test_metrics import scrape, value
from tests.cogs.test_follow_ups import FAST, SONG_MENU, buttons_of, extend_from_upload, final_edit
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, ATTACHMENT_LIMIT, CHANNEL_ID, Call
from tests.fakes.musicapi import IMAGE_BYTES, SONG_BYTES, Answer, Served, flat_callback
from tests.harness import Harness, free_port

MIB = 1024 * 1024
#: Downloads end quickly here, so that a hanging CDN is given up on within a test's wait.
QUICK: dict[str, Any] = {**FAST, "attachment_timeout": 1.0}


async def finished_with(
    harness: Harness, audio: dict[int, Served] | None = None, images: dict[int, Served] | None = None
) -> tuple[dict[str, Any], str]:
    """Extend an upload; before MusicAPI finishes, put the chosen files on its CDN (song n's audio and
    cover art). Return the submit payload and the task id."""
    harness.musicapi.generation_outcome = "running"
    submit = await extend_from_upload(harness)
    await harness.musicapi.wait_for_creates()
    task_id = next(iter(harness.musicapi.generations))
    for n, served in (audio or {}).items():
        harness.musicapi.files[f"{task_id}-song-{n}.mp3"] = served
    for n, served in (images or {}).items():
        harness.musicapi.files[f"{task_id}-song-{n}.jpg"] = served
    harness.musicapi.generation_outcome = "succeeded"
    return submit, task_id


def links_of(call: Call) -> list[str]:
    return [b["url"] for b in buttons_of(call.json.get("components", [])) if b.get("style") == 5]


async def test_songs_arrive_as_mp3s_with_cover_art_buttons_and_a_link_to_each_file(harness: Harness) -> None:
    async with harness.running(**QUICK):
        submit, task_id = await finished_with(harness)
        edit = await final_edit(harness, submit)
    names = ["Night Drive (1).mp3", "cover-1.jpg", "Night Drive (2).mp3", "cover-2.jpg"]
    assert [f.filename for f in edit.files] == names
    assert [f.size for f in edit.files] == [SONG_BYTES, IMAGE_BYTES, SONG_BYTES, IMAGE_BYTES]
    assert edit.files[0].head.startswith(b"ID3"), "the bytes are the CDN's file"
    body = edit.json
    assert [(a["id"], a["filename"]) for a in body["attachments"]] == list(enumerate(names))
    assert [e["image"]["url"] for e in body["embeds"]] == [
        "attachment://cover-1.jpg",
        "attachment://cover-2.jpg",
    ]
    assert "**1. Night Drive (1)** · 2:05 · lo-fi, mellow" in body["embeds"][0]["description"]
    assert f"clip_id: `{task_id}-song-1`" in body["content"] and "📎" not in body["content"]
    assert links_of(edit) == [harness.musicapi.file_url(f"{task_id}-song-{n}.mp3") for n in (1, 2)]
    follow_ups = [b["label"] for b in buttons_of(body["components"]) if "custom_id" in b]
    assert follow_ups == [f"{op} {n}" for n in (1, 2) for op in SONG_MENU]
    assert harness.discord.files_of(f"@original:{submit['token']}") == names


async def test_a_song_over_discords_limit_comes_as_a_link_and_is_not_downloaded(harness: Harness) -> None:
    too_big = Served(ATTACHMENT_LIMIT + 1)
    async with harness.running(**QUICK):
        submit, _ = await finished_with(harness, audio={1: too_big})
        edit = await final_edit(harness, submit)
    assert [f.filename for f in edit.files] == ["cover-1.jpg", "Night Drive (2).mp3", "cover-2.jpg"]
    assert (
        "📎 Night Drive (1).mp3 is 10.0 MB, more than Discord takes here (10.0 MB), so it comes as a link."
        in (edit.json["content"])
    )
    assert len(links_of(edit)) == 2


async def test_a_cdn_404_and_a_cdn_that_never_answers_give_links_in_time(harness: Harness) -> None:
    async with harness.running(**QUICK) as app:
        submit, _ = await finished_with(harness, audio={1: Served(status=404), 2: Served(hang=True)})
        edit = await final_edit(harness, submit)
        # The answer came while the CDN still holds the second download open: it did not wait for it.
        assert harness.musicapi.files_busy == 1
        samples, _ = await scrape(app)
    counted = {
        o: value(samples, "musicbot_attachments_total", kind="audio", outcome=o)
        for o in ("unavailable", "timed_out", "attached")
    }
    assert counted == {"unavailable": 1.0, "timed_out": 1.0, "attached": 0.0}
    assert value(samples, "musicbot_attachments_total", kind="image", outcome="attached") == 2.0
    content = edit.json["content"]
    assert "📎 Night Drive (1).mp3 could not be fetched right now, so it comes as a link." in content
    assert "📎 Night Drive (2).mp3 took too long to fetch, so it comes as a link." in content
    assert [f.filename for f in edit.files] == ["cover-1.jpg", "cover-2.jpg"]
    assert len(links_of(edit)) == 2


async def test_a_redirect_to_a_private_address_is_not_followed(harness: Harness) -> None:
    async with harness.running(**QUICK):
        harness.musicapi.files["moved.mp3"] = Served(1234)
        private = Served(redirect="http://10.0.0.7/internal.mp3")
        own = Served(redirect=harness.musicapi.file_url("moved.mp3"))
        metadata = Served(redirect="https://169.254.169.254/latest/meta-data")
        submit, _ = await finished_with(harness, audio={1: private, 2: own}, images={1: metadata})
        edit = await final_edit(harness, submit)
    assert (
        "📎 Night Drive (1).mp3 is not at an address I fetch files from, so it comes as a link."
        in (edit.json["content"])
    )
    files = {f.filename: f.size for f in edit.files}
    assert files == {"Night Drive (2).mp3": 1234, "cover-2.jpg": IMAGE_BYTES}
    # The cover art that could not be fetched is shown from MusicAPI's own link instead.
    assert edit.json["embeds"][0]["image"]["url"].endswith("-song-1.jpg")


async def test_a_body_longer_than_it_declared_or_past_the_limit_is_dropped(harness: Harness) -> None:
    lying = Served(200_000, declared=1000)
    endless = Served(ATTACHMENT_LIMIT + 1, declared=None)  # no length given: cut off at the limit
    async with harness.running(**QUICK):
        submit, _ = await finished_with(harness, audio={1: lying, 2: endless})
        edit = await final_edit(harness, submit)
    assert [f.filename for f in edit.files] == ["cover-1.jpg", "cover-2.jpg"]
    content = edit.json["content"]
    assert "📎 Night Drive (1).mp3 could not be fetched right now" in content
    assert "📎 Night Drive (2).mp3 is 10.0 MB, more than Discord takes here" in content


async def test_a_post_after_the_token_expired_carries_the_files(harness: Harness) -> None:
    async with harness.running(**QUICK):
        submit, _ = await finished_with(harness)
        harness.expire_token(submit)
        (post,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert post.json["content"].startswith("<@")
    assert [f.filename for f in post.files] == [
        "Night Drive (1).mp3", "cover-1.jpg", "Night Drive (2).mp3", "cover-2.jpg",
    ]  # fmt: skip
    assert [e["image"]["url"] for e in post.json["embeds"]] == [
        "attachment://cover-1.jpg",
        "attachment://cover-2.jpg",
    ]


async def test_a_dm_carries_the_files_when_the_channel_is_closed(harness: Harness) -> None:
    harness.discord.fail[("POST", f"/channels/{CHANNEL_ID}/messages")] = (
        403,
        {"message": "Missing Access", "code": 50001},
    )
    async with harness.running(**QUICK):
        submit, _ = await finished_with(harness)
        harness.expire_token(submit)
        posts = await harness.discord.wait_for(
            "POST", "/channels/", where=lambda c: not c.path.startswith(f"/channels/{CHANNEL_ID}/")
        )
    assert [f.filename for f in posts[0].files][::2] == ["Night Drive (1).mp3", "Night Drive (2).mp3"]


async def test_a_restart_while_a_result_is_shown_shows_it_once(harness: Harness) -> None:
    async with harness.running(**QUICK):
        submit, _ = await finished_with(harness)
        await final_edit(harness, submit)
    # The bot stopped after Discord applied the edit but before the store knew (a crash): it shows the
    # result again after the restart, and the message still has each file once.
    with sqlite3.connect(harness.tmp_path / "bot.db") as db:
        db.execute("UPDATE follow_ups SET delivered = 0")
    async with harness.running(**QUICK):
        edits = await harness.discord.wait_for(
            "PATCH",
            f"/webhooks/{APP_ID}/{submit['token']}/messages/@original",
            where=lambda c: bool(c.files),
            count=2,
        )
    assert len(edits) == 2
    assert [a["filename"] for a in edits[1].json["attachments"]] == [f.filename for f in edits[1].files]
    assert harness.discord.files_of(f"@original:{submit['token']}") == [
        "Night Drive (1).mp3", "cover-1.jpg", "Night Drive (2).mp3", "cover-2.jpg",
    ]  # fmt: skip
    assert not harness.discord.sent("POST", f"/channels/{CHANNEL_ID}/messages")


async def test_turned_off_results_stay_links(harness: Harness) -> None:
    async with harness.running(**QUICK, attachments=False):
        submit, task_id = await finished_with(harness)
        edit = await final_edit(harness, submit)
    assert edit.files == [] and "embeds" not in edit.json
    assert harness.musicapi.file_requests == []
    assert harness.musicapi.file_url(f"{task_id}-song-1.mp3") in edit.json["content"]


# -- a member's own file ---------------------------------------------------------------------------------
async def test_the_upload_answer_carries_the_members_file(harness: Harness) -> None:
    file = payloads.attachment("My Demo.mp3", size=300_000)
    harness.discord.cdn[file["id"]] = 300_000
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        (edit,) = await harness.edits_of(payload)
    assert "My Demo.mp3" in edit.json["content"]
    assert [(f.filename, f.size) for f in edit.files] == [("My Demo.mp3", 300_000)]
    assert edit.json["attachments"] == [{"id": 0, "filename": "My Demo.mp3"}]
    assert harness.discord.cdn_requests == [file["id"]]


async def test_a_members_file_over_the_interactions_limit_is_not_read(harness: Harness) -> None:
    file = payloads.attachment("Long Take.wav", "audio/wav", size=ATTACHMENT_LIMIT + 1)
    harness.discord.cdn[file["id"]] = ATTACHMENT_LIMIT + 1
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        (edit,) = await harness.edits_of(payload)
    assert edit.files == [] and "Long Take.wav" in edit.json["content"]
    assert "📎 Long Take.wav is 10.0 MB, more than Discord takes here (10.0 MB)" in edit.json["content"]
    assert harness.discord.cdn_requests == []


async def test_a_larger_interaction_limit_lets_a_larger_file_through(harness: Harness) -> None:
    size = ATTACHMENT_LIMIT + MIB
    harness.discord.attachment_limit = 50 * MIB  # a boosted server
    file = payloads.attachment("Long Take.wav", "audio/wav", size=size)
    harness.discord.cdn[file["id"]] = size
    upload = payloads.upload(file=file)
    upload["attachment_size_limit"] = 50 * MIB
    async with harness.running():
        payload = await harness.interact(upload)
        (edit,) = await harness.edits_of(payload)
    assert [f.size for f in edit.files] == [size]


def boosted_upload(harness: Harness, size: int) -> dict[str, Any]:
    """An `/upload file:` of `size` bytes in a server that takes 50 MiB per file, whose answer can no
    longer be edited (the upload outlived its token)."""
    harness.discord.attachment_limit = 50 * MIB
    file = payloads.attachment("Long Take.wav", "audio/wav", size=size)
    harness.discord.cdn[file["id"]] = size
    upload = payloads.upload(file=file)
    upload["attachment_size_limit"] = 50 * MIB
    harness.expire_token(upload)
    return upload


def channel_closed(harness: Harness) -> None:
    harness.discord.fail[("POST", f"/channels/{CHANNEL_ID}/messages")] = (
        403,
        {"message": "Missing Access", "code": 50001},
    )


async def a_dm(harness: Harness) -> Call:
    (dm,) = await harness.discord.wait_for(
        "POST", "/channels/", where=lambda c: not c.path.startswith(f"/channels/{CHANNEL_ID}/")
    )
    return dm


async def test_an_upload_answer_posted_after_its_token_expired_carries_a_file_the_server_takes(
    harness: Harness,
) -> None:
    size = ATTACHMENT_LIMIT + MIB
    async with harness.running():
        await harness.interact(boosted_upload(harness, size))
        (post,) = await harness.discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert post.json["content"].startswith("<@") and "📎" not in post.json["content"]
    assert [(f.filename, f.size) for f in post.files] == [("Long Take.wav", size)]


async def test_an_upload_answer_dmed_when_the_channel_is_closed_carries_the_whole_file(
    harness: Harness,
) -> None:
    channel_closed(harness)
    async with harness.running():
        await harness.interact(boosted_upload(harness, 300_000))
        dm = await a_dm(harness)
    assert [(f.filename, f.size) for f in dm.files] == [("Long Take.wav", 300_000)]


async def test_an_upload_answer_dmed_takes_only_what_any_place_takes(harness: Harness) -> None:
    channel_closed(harness)
    async with harness.running():
        await harness.interact(boosted_upload(harness, ATTACHMENT_LIMIT + MIB))
        dm = await a_dm(harness)
    assert dm.files == [], "not a file the DM refuses"
    assert "📎 Long Take.wav is 11.0 MB, more than Discord takes here (10.0 MB)" in dm.json["content"]


async def test_the_members_file_stays_when_a_callback_brings_the_clip_id(harness: Harness) -> None:
    file = payloads.attachment("My Demo.mp3", size=5000)
    harness.discord.cdn[file["id"]] = 5000
    port = free_port()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port):
        payload = await harness.interact(payloads.upload(file=file))
        (first,) = await harness.edits_of(payload)
        task_id = next(iter(harness.musicapi.tasks))
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "clip-x"))
        edits = await harness.edits_of(payload, count=2)
    assert [f.filename for f in first.files] == ["My Demo.mp3"]
    assert "clip-x" in edits[1].json["content"] and "attachments" not in edits[1].json
    assert harness.discord.files_of(f"@original:{payload['token']}") == ["My Demo.mp3"]


async def test_an_upload_from_a_link_attaches_nothing(harness: Harness) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/demo.mp3"))
        (edit,) = await harness.edits_of(payload)
    assert edit.files == [] and "files.example.com/demo.mp3" in edit.json["content"]


async def test_an_upload_from_a_message_attaches_nothing_the_message_has_its_files(harness: Harness) -> None:
    files = [payloads.attachment("a.mp3"), payloads.attachment("b.wav", "audio/wav")]
    for f in files:
        harness.discord.cdn[f["id"]] = 1000
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(payloads.message_object(files)))
        (edit,) = await harness.edits_of(payload)
    assert "a.mp3" in edit.json["content"] and "b.wav" in edit.json["content"]
    assert edit.files == [] and harness.discord.cdn_requests == []


async def test_a_refused_upload_does_not_keep_the_members_file_in_the_channel(harness: Harness) -> None:
    file = payloads.attachment("Their Hit.mp3", size=5000)
    harness.discord.cdn[file["id"]] = 5000
    port = free_port()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port):
        payload = await harness.interact(payloads.upload(file=file))
        (first,) = await harness.edits_of(payload)
        task_id = next(iter(harness.musicapi.tasks))
        failed = {"code": 200, "task_id": task_id, "message": "success", "data": [
            {"clip_id": "", "state": "failed", "error_message": "matches an existing recording"},
        ]}  # fmt: skip
        await harness.musicapi.send_callback(task_id, failed)
        edits = await harness.edits_of(payload, count=2)
    assert [f.filename for f in first.files] == ["Their Hit.mp3"]
    assert edits[1].json["attachments"] == []
    assert harness.discord.files_of(f"@original:{payload['token']}") == []


async def test_a_file_refused_at_once_is_not_attached(harness: Harness) -> None:
    file = payloads.attachment("Their Hit.mp3", size=5000)
    harness.discord.cdn[file["id"]] = 5000
    harness.musicapi.script(Answer(400, {"code": 400, "message": "Audio URL is not accessible"}))
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        (edit,) = await harness.edits_of(payload)
    assert "not accessible" in edit.json["content"]
    assert edit.files == [] and harness.discord.cdn_requests == []
