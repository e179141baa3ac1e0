"""Uploading from messages: the context menu, message links in /upload, DMs, and members' languages."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.cogs.test_follow_ups import UPLOAD_MENU
from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, CHANNEL_ID, GUILD_ID, USER_ID
from tests.fakes.musicapi import Answer, clip_id_for
from tests.harness import Harness


def link_to(
    message: dict, guild: int | str = GUILD_ID, channel: int = CHANNEL_ID, host: str = "discord.com"
) -> str:
    return f"https://{host}/channels/{guild}/{channel}/{message['id']}"


async def test_context_menu_uploads_the_single_audio_file(harness: Harness) -> None:
    msg = payloads.message_object([payloads.attachment("beat.wav", "audio/wav")])
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(msg))
        assert (await harness.callback_of(payload)).json["type"] == 5
        text = await harness.answer(payload)
    assert f"`{clip_id_for(0)}`" in text and "beat.wav" in text
    assert text.startswith(f"↪️ From this message: {link_to(msg)}\n\n"), "the answer points to the message"
    assert harness.musicapi.uploads == [{"url": msg["attachments"][0]["url"]}]


async def test_context_menu_lists_each_file_with_its_own_result(harness: Harness) -> None:
    files = [
        payloads.attachment("verse.mp3"),
        payloads.attachment("cover-art.png", "image/png"),
        payloads.attachment("chorus.ogg", "audio/ogg"),
        payloads.attachment("huge.wav", "audio/wav", size=500 * 1024 * 1024),
    ]
    harness.musicapi.script(Answer(200, {"code": 200, "clip_id": "clip-verse"}),
                            Answer(400, {"code": 400, "message": "Audio is too short."}))  # fmt: skip
    msg = payloads.message_object(files)
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(msg))
        text = await harness.answer(payload)
    source, *paragraphs = text.split("\n\n")
    assert source == f"↪️ From this message: {link_to(msg)}"
    assert len(paragraphs) == 3  # the image is not audio and is left out
    assert "verse.mp3" in paragraphs[0] and "`clip-verse`" in paragraphs[0]
    assert "chorus.ogg" in paragraphs[1] and "Audio is too short" in paragraphs[1]
    assert "huge.wav" in paragraphs[2] and "over this bot's limit" in paragraphs[2]
    assert sorted(u["url"] for u in harness.musicapi.uploads) == sorted([files[0]["url"], files[2]["url"]])


async def test_context_menu_caps_the_number_of_files(harness: Harness) -> None:
    files = [payloads.attachment(f"take-{n}.mp3") for n in range(4)]
    async with harness.running(max_message_attachments=2, max_uploads_per_user=10):
        payload = await harness.interact(payloads.message_menu(payloads.message_object(files)))
        text = await harness.answer(payload)
    assert len(harness.musicapi.uploads) == 2
    assert text.count("at most 2 files") == 2 and "take-3.mp3" in text


async def test_context_menu_on_a_message_without_audio_explains(harness: Harness) -> None:
    msg = payloads.message_object([payloads.attachment("photo.jpg", "image/jpeg")])
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(msg))
        call = await harness.callback_of(payload)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "no audio files" in call.json["data"]["content"]
    assert harness.musicapi.uploads == []


@pytest.mark.parametrize("host", ["discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com"])
async def test_message_link_uploads_with_fresh_attachment_urls(harness: Harness, host: str) -> None:
    fresh = payloads.attachment("mixdown.flac", "audio/flac")
    msg = payloads.message_object([fresh])
    harness.discord.messages[int(msg["id"])] = msg
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg, host=host)))
        text = await harness.answer(payload)
    assert f"`{clip_id_for(0)}`" in text and "mixdown.flac" in text
    assert f"↪️ From this message: {link_to(msg)}" in text, "Discord's own host, whichever the link used"
    assert harness.discord.sent("GET", f"/channels/{CHANNEL_ID}/messages/{msg['id']}")
    assert harness.musicapi.uploads == [{"url": fresh["url"]}]


async def test_message_link_to_a_forwarded_message_uses_the_forwarded_audio(harness: Harness) -> None:
    inner = payloads.attachment("forwarded.mp3")
    msg = payloads.forwarded_message([inner])
    harness.discord.messages[int(msg["id"])] = msg
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg)))
        assert "forwarded.mp3" in await harness.answer(payload)
    assert harness.musicapi.uploads == [{"url": inner["url"]}]


async def test_context_menu_on_a_forwarded_message_uploads_the_forwarded_audio(harness: Harness) -> None:
    inner = [payloads.attachment("forwarded.mp3"), payloads.attachment("cover.png", "image/png"),
             payloads.attachment("b-side.ogg", "audio/ogg")]  # fmt: skip
    msg = payloads.forwarded_message(inner)
    assert msg["attachments"] == []  # as Discord sends a forward: the files live in its snapshot only
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(msg))
        assert (await harness.callback_of(payload)).json["type"] == 5
        text = await harness.answer(payload)
    assert "forwarded.mp3" in text and "b-side.ogg" in text and "cover.png" not in text
    assert text.count("`") == 4  # two clip_ids
    assert sorted(u["url"] for u in harness.musicapi.uploads) == sorted([inner[0]["url"], inner[2]["url"]])


async def test_context_menu_counts_own_and_forwarded_files_against_the_cap(harness: Harness) -> None:
    own = [payloads.attachment("own.mp3")]
    msg = payloads.forwarded_message(
        [payloads.attachment("fwd-1.mp3"), payloads.attachment("fwd-2.mp3")], own=own
    )
    async with harness.running(max_message_attachments=2, max_uploads_per_user=10):
        payload = await harness.interact(payloads.message_menu(msg))
        text = await harness.answer(payload)
    assert sorted(u["url"] for u in harness.musicapi.uploads) == sorted(
        [own[0]["url"], msg["message_snapshots"][0]["message"]["attachments"][0]["url"]]
    )
    assert "fwd-2.mp3" in text and "at most 2 files" in text


async def refusal_after_thinking(harness: Harness, payload: dict) -> str:
    """A refusal that came after the public "thinking": that is deleted, then only the member is told
    (Discord would show a follow-up sent while "thinking" stands in its place, publicly)."""
    assert (await harness.callback_of(payload)).json["type"] == 5
    original = f"/webhooks/{APP_ID}/{payload['token']}/messages/@original"
    await harness.discord.wait_for("DELETE", original)
    (followup,) = await harness.discord.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}")
    assert followup.json["flags"] & 64
    assert not harness.discord.sent("PATCH", original)
    assert harness.musicapi.uploads == []
    (shown,) = harness.discord.visible(payload["token"])  # the refusal alone, seen by the member only
    assert shown["flags"] & 64 and shown["content"] == followup.json["content"]
    return str(followup.json["content"])


@pytest.mark.parametrize(
    ("setup", "expected"),
    [("missing", "couldn't find that message"),
     ("forbidden", "I'm missing the **View Channels** permission in its channel"),
     ("no-history", "I'm missing the **Read Message History** permission in its channel"),
     ("no-audio", "no audio files"), ("other-server", "only read message links from this server")],
)  # fmt: skip
async def test_message_links_that_cannot_be_used_get_a_reason(
    harness: Harness, setup: str, expected: str
) -> None:
    msg = payloads.message_object([payloads.attachment("notes.txt", "text/plain")])
    guild: int = GUILD_ID
    if setup == "no-audio":
        harness.discord.messages[int(msg["id"])] = msg
    if setup == "forbidden":
        harness.discord.fail[("GET", f"/channels/{CHANNEL_ID}/messages/")] = (
            403, {"message": "Missing Access", "code": 50001})  # fmt: skip
    if setup == "no-history":  # the bot sees the channel, but may not read its messages
        harness.discord.fail[("GET", f"/channels/{CHANNEL_ID}/messages/")] = (
            403, {"message": "Missing Permissions", "code": 50013})  # fmt: skip
    if setup == "other-server":
        guild = GUILD_ID + 5
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg, guild=guild)))
        assert expected in await refusal_after_thinking(harness, payload)


def unknown_message_link_with_failing(harness: Harness, method: str) -> tuple[dict, str]:
    """/upload with a link to a message the bot cannot find (refused after "thinking"), and its
    interaction's webhook, where Discord refuses `method` (403)."""
    payload = payloads.upload(url=link_to(payloads.message_object([payloads.attachment("notes.txt")])))
    webhook = f"/webhooks/{APP_ID}/{payload['token']}"
    harness.discord.fail[(method, webhook)] = (403, {"message": "Missing Access", "code": 50001})
    return payload, webhook


async def test_a_refusal_after_thinking_that_cannot_be_deleted_takes_its_place(harness: Harness) -> None:
    payload, webhook = unknown_message_link_with_failing(harness, "DELETE")
    async with harness.running():
        await harness.interact(payload)
        (edit,) = await harness.discord.wait_for("PATCH", f"{webhook}/messages/@original")
        await asyncio.sleep(0.2)
        followups = harness.discord.sent("POST", webhook)
    assert "couldn't find that message" in edit.json["content"]
    assert followups == [], "one answer: in place of thinking, not a second one beside it"
    (shown,) = harness.discord.visible(payload["token"])
    assert shown["content"] == edit.json["content"]
    assert harness.musicapi.uploads == []


async def test_a_refusal_that_cannot_be_sent_after_thinking_went_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    payload, webhook = unknown_message_link_with_failing(harness, "POST")
    async with harness.running():
        await harness.interact(payload)
        await harness.discord.wait_for("POST", webhook)
        await asyncio.sleep(0.2)
        edits = harness.discord.sent("PATCH", f"{webhook}/messages/@original")
    assert harness.discord.sent("DELETE", webhook)
    assert edits == [], "nothing else is said in place of the refusal (no 'went wrong' either)"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"could not tell the member why interaction {payload['id']} uploads nothing (HTTP 403)" in warnings
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


OTHER_CHANNEL = CHANNEL_ID + 1
PRODUCERS = GUILD_ID + 100
VIEW_AND_HISTORY = str((1 << 10) | (1 << 16))


def share_in_other_channel(
    harness: Harness, overwrites: list[dict], *, member_roles: list[int], kind: int = 0
) -> dict:
    """A message with audio in another channel of this server, and what Discord's API says about access."""
    msg = payloads.message_object([payloads.attachment("stem.wav", "audio/wav")], channel_id=OTHER_CHANNEL)
    harness.discord.messages[int(msg["id"])] = msg
    harness.discord.guilds[GUILD_ID] = {
        "id": str(GUILD_ID), "name": "Studio", "owner_id": str(GUILD_ID + 999),
        "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": VIEW_AND_HISTORY},
                  {"id": str(PRODUCERS), "name": "Producers", "permissions": "0"}],
    }  # fmt: skip
    harness.discord.channels[OTHER_CHANNEL] = {
        "id": str(OTHER_CHANNEL), "type": kind, "guild_id": str(GUILD_ID), "parent_id": str(CHANNEL_ID),
        "permission_overwrites": overwrites,
    }  # fmt: skip
    harness.discord.channels[CHANNEL_ID] = {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID),
                                            "permission_overwrites": []}  # fmt: skip
    harness.discord.members[(GUILD_ID, USER_ID)] = {
        "user": {"id": str(USER_ID)},
        "roles": [str(r) for r in member_roles],
    }
    return msg


HIDDEN_FROM_EVERYONE = {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(1 << 10)}
OPEN_TO_PRODUCERS = {"id": str(PRODUCERS), "type": 0, "allow": str(1 << 10), "deny": "0"}


async def test_message_link_into_a_channel_the_member_can_read_is_uploaded(harness: Harness) -> None:
    msg = share_in_other_channel(harness, [HIDDEN_FROM_EVERYONE, OPEN_TO_PRODUCERS], member_roles=[PRODUCERS])
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg, channel=OTHER_CHANNEL)))
        text = await harness.answer(payload)
    assert "stem.wav" in text and clip_id_for(0) in text


@pytest.mark.parametrize(
    ("overwrites", "kind"),
    [([HIDDEN_FROM_EVERYONE, OPEN_TO_PRODUCERS], 0),  # only Producers may see it; the member is not one
     ([{"id": str(USER_ID), "type": 1, "allow": "0", "deny": str(1 << 16)}], 0),  # no history for this member
     ([], 12)],  # a private thread
    ids=["role-only", "member-denied", "private-thread"],
)  # fmt: skip
async def test_message_link_into_a_channel_the_member_cannot_read_is_refused(
    harness: Harness, overwrites: list[dict], kind: int
) -> None:
    msg = share_in_other_channel(harness, overwrites, member_roles=[], kind=kind)
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg, channel=OTHER_CHANNEL)))
        assert "channel you can't open" in await refusal_after_thinking(harness, payload)
    assert not harness.discord.sent("GET", f"/channels/{OTHER_CHANNEL}/messages/")


async def test_upload_works_in_a_dm(harness: Harness) -> None:
    async with harness.running():
        payload = await harness.interact(
            payloads.upload(file=payloads.attachment("voice-message.ogg", "audio/ogg"), guild=False)
        )
        assert (await harness.callback_of(payload)).json["type"] == 5
        text = await harness.answer(payload)
    assert clip_id_for(0) in text


async def test_dm_fallback_does_not_mention_a_channel(harness: Harness) -> None:
    from tests.fakes.musicapi import flat_callback
    from tests.harness import free_port

    port = free_port()
    async with harness.running(public_url=f"http://127.0.0.1:{port}", web_port=port):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3", guild=False))
        await harness.answer(payload)
        harness.expire_token(payload)
        (task_id,) = harness.musicapi.tasks
        await harness.musicapi.send_callback(task_id, flat_callback(task_id, "dm-clip"))
        (sent,) = await harness.discord.wait_for(
            "POST", "/channels/", where=lambda c: c.path.endswith("/messages")
        )
    assert sent.json["content"].startswith("✅")  # no <@mention> outside a server
    assert "`dm-clip`" in sent.json["content"]
    assert harness.discord.sent("POST", "/users/@me/channels")


async def test_message_menu_in_a_dm(harness: Harness) -> None:
    msg = payloads.message_object([payloads.attachment("idea.m4a", "audio/mp4")])
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(msg, guild=False))
        text = await harness.answer(payload)
    assert "idea.m4a" in text and f"↪️ From this message: {link_to(msg, guild='@me')}" in text


@pytest.mark.parametrize(
    ("locale", "word"),
    [
        ("de", "hochgeladen"),
        ("ja", "アップロード"),
        ("es-419", "subido"),
        ("pt-BR", "enviad"),
        ("fr", "import"),
    ],
)
async def test_replies_come_in_the_members_language(harness: Harness, locale: str, word: str) -> None:
    from bot.domain.texts import CATALOGS, resolve_locale

    catalog = CATALOGS[resolve_locale(locale)]
    async with harness.running():
        ok = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3", locale=locale))
        text = await harness.answer(ok)
        bad = await harness.interact(payloads.upload(url="https://youtu.be/x", locale=locale))
        refused = (await harness.callback_of(bad)).json["data"]["content"]
    assert text.split("**")[0] == catalog["upload.success"].split("**")[0]
    assert refused.split("**")[0] == catalog["source.streaming_page"].split("**")[0]
    assert refused != CATALOGS["en-US"]["source.streaming_page"].format(host="youtu.be")
    assert word in text


async def test_unknown_locale_gets_english(harness: Harness) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://youtu.be/x", locale="tlh"))
        refused = (await harness.callback_of(payload)).json["data"]["content"]
    assert "is a streaming page, not an audio file" in refused


async def test_commands_are_registered_with_localizations_and_installs(harness: Harness) -> None:
    async with harness.running():
        pass
    commands = {c["name"]: c for c in harness.discord.commands["global"]}
    upload = commands["upload"]
    assert upload["name_localizations"]["de"] == "hochladen"
    assert upload["name_localizations"]["ja"] == "アップロード"
    assert upload["name_localizations"]["es-419"] == upload["name_localizations"]["es-ES"]
    assert "en-GB" not in (upload.get("name_localizations") or {})
    assert {o["name"] for o in upload["options"]} == {"file", "url"}
    assert upload["options"][0]["name_localizations"]["fr"] == "fichier"
    assert sorted(upload["integration_types"]) == [0, 1]
    assert sorted(upload["contexts"]) == [0, 1, 2]
    menu = commands["Upload to MusicAPI"]
    assert menu["type"] == 3 and menu["name_localizations"]["pt-BR"] == "Enviar para a MusicAPI"
    assert sorted(menu["integration_types"]) == [0, 1]


async def test_message_link_with_another_servers_channel_id_is_refused(harness: Harness) -> None:
    msg = share_in_other_channel(harness, [], member_roles=[])
    harness.discord.channels[OTHER_CHANNEL]["guild_id"] = str(GUILD_ID + 5)  # the channel is elsewhere
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=link_to(msg, channel=OTHER_CHANNEL)))
        assert "channel you can't open" in await refusal_after_thinking(harness, payload)
    assert not harness.discord.sent("GET", f"/channels/{OTHER_CHANNEL}/messages/")


async def test_each_clip_of_a_message_gets_its_own_numbered_extend_and_cover(harness: Harness) -> None:
    files = [payloads.attachment(f"take-{n}.mp3") for n in (1, 2, 3)]
    harness.musicapi.script(
        Answer(200, {"code": 200, "clip_id": "clip-one"}), Answer(400, {"message": "Too short."})
    )
    async with harness.running():
        payload = await harness.interact(payloads.message_menu(payloads.message_object(files)))
        (edit,) = await harness.edits_of(payload)
    source, *paragraphs = edit.json["content"].split("\n\n")
    assert source.startswith("↪️ From this message: ")
    succeeded = [n for n, text in enumerate(paragraphs, start=1) if "clip_id: `" in text]
    assert len(succeeded) == 2, "one of the three was refused"
    labels = [[b["label"] for b in row["components"]] for row in edit.json["components"]]
    assert labels == [[f"{op} {n}" for op in UPLOAD_MENU] for n in succeeded]
