"""`/upload` through the real discord.py stack: gateway payloads in, REST calls to the fake Discord out."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from tests.fakes import payloads
from tests.fakes.discord_api import APP_ID, GUILD_ID, USER_ID, VALID_TOKEN
from tests.fakes.musicapi import API_KEY, Answer, clip_id_for
from tests.harness import Harness

EPHEMERAL = 64
DEFERRED = 5
MESSAGE = 4
FORBIDDEN_IN_REPLIES = (
    "Traceback", "Exception", "Error:", "MusicAPIError", "ServiceUnavailable", "ClientConnectorError",
    API_KEY, VALID_TOKEN, "Bearer", "?ex=", "hm=", "signature",
)  # fmt: skip


def assert_clean(text: str) -> None:
    for needle in FORBIDDEN_IN_REPLIES:
        assert needle not in text, f"{needle!r} leaked into a reply: {text!r}"


async def refusal(harness: Harness, payload: dict) -> str:
    """The ephemeral answer to a refused /upload; checks nothing reached MusicAPI."""
    call = await harness.callback_of(payload)
    assert call.json["type"] == MESSAGE
    assert call.json["data"]["flags"] & EPHEMERAL
    await asyncio.sleep(0.05)
    assert harness.musicapi.uploads == []
    content = str(call.json["data"]["content"])
    assert_clean(content)
    return content


async def final(harness: Harness, payload: dict) -> str:
    """The deferred answer: checks the defer came first, then returns the edited content."""
    call = await harness.callback_of(payload)
    assert call.json["type"] == DEFERRED
    text = await harness.answer(payload)
    assert_clean(text)
    calls = harness.discord.calls
    defer_at = calls.index(call)
    edit_at = next(i for i, c in enumerate(calls) if c.method == "PATCH" and payload["token"] in c.path)
    assert defer_at < edit_at
    return text


async def test_attachment_becomes_clip_id(harness: Harness) -> None:
    file = payloads.attachment("My Song.mp3")
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        text = await final(harness, payload)
    assert f"`{clip_id_for(0)}`" in text
    assert "My Song.mp3" in text
    assert "Use the buttons below" in text
    # The CDN URL goes to MusicAPI untouched: signed query and all, no bytes through the bot.
    assert harness.musicapi.uploads == [{"url": file["url"]}]
    assert harness.musicapi.auth_headers == [f"Bearer {API_KEY}"]


async def test_link_becomes_clip_id_and_shows_host_and_path_only(harness: Harness) -> None:
    url = "https://files.example.org/audio/take-3.wav?token=s3cr3t&sig=abc"
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=url))
        text = await final(harness, payload)
    assert clip_id_for(0) in text
    assert "files.example.org/audio/take" in text
    assert "s3cr3t" not in text and "sig=" not in text
    assert harness.musicapi.uploads == [{"url": url}]


async def test_the_answer_pings_nobody_whatever_the_file_is_called(harness: Harness) -> None:
    file = payloads.attachment("@everyone <@&1234> take.mp3")
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        text = await final(harness, payload)
    assert "@\u200beveryone" in text  # written so as not to ping, and told Discord to ping no one:
    edits = [c for c in harness.discord.calls if c.method == "PATCH" and payload["token"] in c.path]
    assert edits and all(c.json["allowed_mentions"] == {"parse": []} for c in edits)


async def test_a_look_alike_host_is_answered_in_its_xn_form(harness: Harness) -> None:
    url = "https://www.y\u043eutube.com/watch"  # a Cyrillic о: not YouTube, whatever it looks like
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=url))
        text = await final(harness, payload)
    assert clip_id_for(0) in text
    assert "www.xn--yutube-wqf.com/watch" in text
    assert "\u043e" not in text
    assert harness.musicapi.uploads == [{"url": url}]


async def test_link_without_extension_is_allowed(harness: Harness) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://dl.example.net/download/8812"))
        text = await final(harness, payload)
    assert clip_id_for(0) in text


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, "Give me something to upload"), ({"url": "https://a.example.com/x.mp3", "file": True}, "not both")],
)
async def test_none_or_both_options_get_an_ephemeral_explanation(
    harness: Harness, options: dict, expected: str
) -> None:
    if options.pop("file", False):
        options["file"] = payloads.attachment()
    async with harness.running():
        payload = await harness.interact(payloads.upload(**options))
        assert expected in await refusal(harness, payload)


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("voice-message.ogg", "audio/ogg"), ("take.flac", None), ("demo.m4a", "audio/mp4"),
     ("bounce.opus", "application/octet-stream")],
)  # fmt: skip
async def test_audio_attachments_are_accepted(
    harness: Harness, filename: str, content_type: str | None
) -> None:
    file = payloads.attachment(filename, content_type)
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=file))
        assert clip_id_for(0) in await final(harness, payload)


@pytest.mark.parametrize(
    ("filename", "content_type"), [("cover.png", "image/png"), ("notes.txt", None), ("fake.mp3", "video/mp4")]
)
async def test_non_audio_attachment_is_refused(
    harness: Harness, filename: str, content_type: str | None
) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(file=payloads.attachment(filename, content_type)))
        assert "isn't audio" in await refusal(harness, payload)


async def test_attachment_over_the_size_cap_is_refused(harness: Harness) -> None:
    file = payloads.attachment("long.wav", "audio/wav", size=30 * 1024 * 1024)
    async with harness.running(max_file_mb=25):
        payload = await harness.interact(payloads.upload(file=file))
        text = await refusal(harness, payload)
    assert "30.0 MB" in text and "25.0 MB" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://files.example.com/a.mp3", "`ftp:`"),
        ("file:///etc/passwd", "`file:`"),
        ("javascript:alert(1)", "valid link"),
        ("data:audio/mp3;base64,AAAA", "valid link"),
        ("http://localhost:8080/a.mp3", "private or local"),
        ("http://127.0.0.1/a.mp3", "private or local"),
        ("http://192.168.1.20/a.mp3", "private or local"),
        ("http://169.254.169.254/latest/meta-data", "private or local"),
        ("http://[::1]/a.mp3", "private or local"),
        ("http://[fd00::5]/a.mp3", "private or local"),
        ("https://user:pw@files.example.com/a.mp3", "user name or password"),
        ("https://files.example.com/my song.mp3", "spaces"),
        ("https://exa mple.com", "spaces"),
        ("https://files.example.com/" + "a" * 2100 + ".mp3", "longer than 2048"),
        ("https://", "valid link"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "streaming page"),
        ("https://youtu.be/dQw4w9WgXcQ", "streaming page"),
        ("https://open.spotify.com/track/abc", "streaming page"),
        ("https://soundcloud.com/artist/track", "streaming page"),
        ("https://music.apple.com/us/album/x/1", "streaming page"),
        ("https://artist.bandcamp.com/track/song", "streaming page"),
        ("https://www.tiktok.com/@u/video/1", "streaming page"),
    ],
)
async def test_bad_links_are_refused_with_a_reason(harness: Harness, url: str, expected: str) -> None:
    async with harness.running():
        payload = await harness.interact(payloads.upload(url=url))
        assert expected in await refusal(harness, payload)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([Answer(400, {"code": 400, "message": "Audio duration must be between 6s and 8min."})],
         "Audio duration must be between 6s and 8min"),
        ([Answer(400, {"code": 400, "error": "This audio matches an existing recording in our catalog."})],
         "copyrighted recording"),
        ([Answer(403, {"code": 403, "message": "The remaining credits are not enough. You can buy more."})],
         "out of credits"),
        ([Answer(403, {"code": 403, "message": "You do not have an active subscription."})],
         "subscription isn't active"),
        ([Answer(429, {"code": 429, "message": "Too many requests"})], "busy right now"),
        ([Answer(500, {"code": 500, "message": "internal"})], "having trouble"),
        ([Answer(200, text="<html>gateway</html>")], "having trouble"),
        ([Answer(200, {"code": 200, "message": "success"})], "having trouble"),
        ([Answer(503, text="")] * 3, "having trouble"),
        ([Answer(502, text="<html>Bad Gateway</html>")], "may still have been uploaded"),
    ],
    ids=["400", "copyright", "no-credits", "no-subscription", "429", "500", "non-json", "no-clip-id",
         "503-exhausted", "502-unconfirmed"],
)  # fmt: skip
async def test_musicapi_failures_become_specific_replies(
    harness: Harness, answers: list, expected: str
) -> None:
    harness.musicapi.script(*answers)
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert expected in text
    assert "clip_id:" not in text


@pytest.mark.parametrize(
    ("given", "advice", "not_said"),
    [("url", "a direct link to an audio file", "is an audio file"), ("file", "is an audio file", "link")],
)
async def test_a_refusal_without_a_reason_advises_on_what_the_member_gave(
    harness: Harness, given: str, advice: str, not_said: str
) -> None:
    """MusicAPI's 400 with no message: a link is checked for being a direct link, a file for being audio."""
    harness.musicapi.script(Answer(400, {"code": 400}))
    source = {"url": "https://files.example.com/a.mp3"} if given == "url" else {"file": payloads.attachment()}
    async with harness.running():
        payload = await harness.interact(payloads.upload(**source))
        text = await final(harness, payload)
    assert "couldn't take" in text and "6 seconds and 8 minutes" in text
    assert advice in text and not_said not in text


async def test_rejected_api_key_tells_admins_and_logs_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness.running(musicapi_api_key="wrong-key"):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        with caplog.at_level(logging.INFO):
            text = await final(harness, payload)
    assert "API key" in text and "server admin can let the bot's owner know" in text
    assert "configuration" not in text, "server admins cannot change it: only the bot's owner can"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "MUSICAPI_API_KEY" in errors[0].getMessage()
    assert "wrong-key" not in caplog.text


async def test_failures_before_musicapi_took_the_upload_are_retried(harness: Harness) -> None:
    harness.musicapi.script(Answer(503, text=""), Answer(429, {"code": 429}, headers={"Retry-After": "0"}))
    async with harness.running(musicapi_retries=2):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert clip_id_for(0) in text
    assert len(harness.musicapi.uploads) == 3


async def test_overall_time_limit_ends_with_a_friendly_message(harness: Harness) -> None:
    """Retries of a busy MusicAPI (each request within its own limit) outlast the whole upload's limit."""
    harness.musicapi.script(*[Answer(status=503, text="")] * 3)
    async with harness.running(upload_timeout=1.0, musicapi_timeout=1.0, musicapi_retry_backoff=5.0):
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert "took too long" in text


async def test_each_upload_logs_one_line_without_secrets(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    file = payloads.attachment()
    with caplog.at_level(logging.INFO):
        async with harness.running():
            payload = await harness.interact(payloads.upload(file=file))
            await final(harness, payload)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.uploads"]
    assert len(lines) == 1
    assert re.search(
        rf"user={USER_ID} guild={GUILD_ID} source=file outcome=succeeded duration=\d+\.\d+s", lines[0]
    )
    for secret in (API_KEY, VALID_TOKEN, "hm=deadbeef", payload["token"]):
        assert secret not in caplog.text


async def test_uploads_beyond_the_per_user_limit_wait(harness: Harness) -> None:
    harness.musicapi.delay = 1.0
    async with harness.running(max_uploads_per_user=1):
        first = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        await harness.callback_of(first)
        await asyncio.sleep(0.2)
        second = await harness.interact(payloads.upload(url="https://files.example.com/b.mp3"))
        call = await harness.callback_of(second)
        assert call.json["data"]["flags"] & EPHEMERAL
        assert "uploads in progress (1)" in call.json["data"]["content"]
        assert clip_id_for(0) in await harness.answer(first)
    assert len(harness.musicapi.uploads) == 1


async def test_commands_sync_only_when_they_changed(harness: Harness) -> None:
    route = f"/applications/{APP_ID}/commands"
    async with harness.running():
        pass
    assert len(harness.discord.sent("PUT", route)) == 1
    names = {c["name"] for c in harness.discord.commands["global"]}
    assert "upload" in names
    async with harness.running():
        pass
    assert len(harness.discord.sent("PUT", route)) == 1, "an unchanged command set was synced again"


async def test_dev_guild_gets_the_commands(harness: Harness) -> None:
    async with harness.running(dev_guild_id=GUILD_ID):
        pass
    assert harness.discord.sent("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    assert not harness.discord.sent("PUT", f"/applications/{APP_ID}/commands")


async def test_simultaneous_uploads_cannot_pass_the_per_user_limit(harness: Harness) -> None:
    harness.musicapi.delay = 0.5
    async with harness.running(max_uploads_per_user=1):
        burst = [payloads.upload(url=f"https://files.example.com/{n}.mp3") for n in range(4)]
        await asyncio.gather(*(harness.interact(p) for p in burst))
        calls = [await harness.callback_of(p) for p in burst]
        deferred = [p for p, c in zip(burst, calls, strict=True) if c.json["type"] == DEFERRED]
        refused = [c for c in calls if c.json["type"] == MESSAGE]
        assert len(deferred) == 1 and len(refused) == 3
        assert all("uploads in progress (1)" in c.json["data"]["content"] for c in refused)
        assert clip_id_for(0) in await harness.answer(deferred[0])
    assert len(harness.musicapi.uploads) == 1


async def test_commands_during_shutdown_are_told_the_bot_is_restarting(harness: Harness) -> None:
    async with harness.running() as app:
        app.bot.desk.closing = True  # what close() sets first
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        call = await harness.callback_of(payload)
        app.bot.desk.closing = False
    assert call.json["type"] == MESSAGE and call.json["data"]["flags"] & EPHEMERAL
    assert "restarting" in call.json["data"]["content"]
    assert harness.musicapi.uploads == []


async def test_uploads_in_flight_are_answered_by_token_when_discord_py_closed_first(harness: Harness) -> None:
    """When Discord ends the gateway for good (a close code discord.py does not reconnect after), discord.py
    closes the client, its HTTP session with it, before the bot's own close runs. The uploads in flight are
    still interrupted after their few seconds and their members told, by token, over the bot's session."""
    harness.musicapi.delay = 30
    async with harness.running() as app:
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        await harness.callback_of(payload)
        await harness.musicapi.wait_for_uploads()
        await app.bot.close()  # what discord.py does first
    assert "restarting" in await harness.answer(payload, timeout=1)
    assert len(harness.musicapi.uploads) == 1


async def test_dev_guild_commands_are_not_synced_again_when_unchanged(harness: Harness) -> None:
    route = f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
    async with harness.running(dev_guild_id=GUILD_ID):
        pass
    # Discord keeps installation contexts only on global commands: its copy of guild commands has none.
    for command in harness.discord.commands[f"guilds/{GUILD_ID}"]:
        command.pop("contexts", None)
        command.pop("integration_types", None)
    async with harness.running(dev_guild_id=GUILD_ID):
        pass
    assert len(harness.discord.sent("PUT", route)) == 1


async def test_a_connection_dropped_after_musicapi_read_the_upload_sends_it_once_and_says_so(
    harness: Harness,
) -> None:
    """MusicAPI may have carried the upload out: sending it again could charge twice."""
    harness.musicapi.script(Answer(drop=True))
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert len(harness.musicapi.uploads) == 1
    assert "may still have been uploaded" in text and "didn't send it again" in text
    assert "**files.example.com/a.mp3**" in text


async def test_a_503_without_a_body_did_not_arrive_and_is_sent_again(harness: Harness) -> None:
    """MusicAPI refused before taking the upload (503, no body): it is sent again."""
    harness.musicapi.script(Answer(503, text=""))
    async with harness.running():
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert len(harness.musicapi.uploads) == 2
    assert clip_id_for(0) in text


async def test_file_names_cannot_reorder_or_hide_text_in_the_answer(harness: Harness) -> None:
    rlo, isolate, zwsp = "\u202e", "\u2067", "\u200b"
    song = payloads.attachment(f"song{rlo}3pm.exe", "audio/mpeg")
    photo = payloads.attachment(f"{isolate}photo{zwsp}{rlo}3pm.jpg", "image/jpeg")
    async with harness.running():
        refused = await harness.interact(payloads.upload(file=photo))
        refusal_text = await refusal(harness, refused)
        accepted = await harness.interact(payloads.upload(file=song))
        text = await final(harness, accepted)
    assert "song3pm.exe" in text and f"`{clip_id_for(0)}`" in text
    assert "photo3pm.jpg" in refusal_text
    for answer in (text, refusal_text):
        assert not {rlo, isolate, zwsp} & set(answer)


async def test_an_unexpected_failure_of_an_upload_still_gets_an_answer(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness.running() as app:
        await app.store.close()  # the upload log is gone: the upload cannot be recorded
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert "went wrong on my side" in text
    assert harness.musicapi.uploads == []  # never sent unrecorded
    assert any("upload failed unexpectedly" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_failure_is_answered_by_token_once_discord_py_has_closed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The internal-error answer takes the path every answer takes: with discord.py closed meanwhile (its
    session with it), by the interaction's token over the bot's own session."""
    async with harness.running() as app:

        async def broken(*args: object, **kwargs: object) -> None:
            await app.bot.close()  # what discord.py does first when Discord ends the gateway for good
            raise RuntimeError("a fault of the bot's own")

        monkeypatch.setattr(app.uploads, "start", broken)
        payload = await harness.interact(payloads.upload(url="https://files.example.com/a.mp3"))
        text = await final(harness, payload)
    assert "went wrong on my side" in text
