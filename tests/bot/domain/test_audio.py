"""bot.domain.audio: which attachments are audio the bot passes on, and which it skips and why."""

from __future__ import annotations

import pytest

from bot.domain.audio import audio_sources, check_attachment, is_audio
from bot.domain.records import SourceKind
from bot.domain.sources import AttachmentInfo, Rejection, Source, SourceRejected

MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# attachments
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("song.mp3", "audio/mpeg", True),
        ("voice-message.ogg", "audio/ogg; codecs=opus", True),
        ("take.wav", "audio/x-wav", True),
        ("take.wav", "AUDIO/WAV", True),
        ("clip.flac", "audio/flac", True),
        ("no-extension", "audio/mpeg", True),
        ("song.mp3", None, True),
        ("SONG.MP3", None, True),
        ("song.m4a", "", True),
        ("notes.txt", None, False),
        ("noextension", None, False),
        ("cover.png", "image/png", False),
        ("fake.mp3", "image/png", False),
        ("fake.mp3", "text/plain", False),
        ("movie.mp4", "video/mp4", False),
        ("song.flac", "application/octet-stream", True),
        ("song.opus", "binary/octet-stream", True),
        ("program.exe", "application/octet-stream", False),
        ("archive.zip", "application/zip", False),
    ],
)
def test_is_audio(filename: str, content_type: str | None, expected: bool) -> None:
    assert is_audio(filename, content_type) is expected


CDN = "https://cdn.discordapp.com/attachments/1/2/song.mp3?ex=1&is=2&hm=3"


def test_check_attachment_accepts_audio() -> None:
    source = check_attachment(AttachmentInfo("song.mp3", "audio/mpeg", 3 * MB, CDN), max_bytes=100 * MB)
    assert source == Source(kind=SourceKind.FILE, url=CDN, label="song.mp3")


def test_check_attachment_accepts_voice_message() -> None:
    source = check_attachment(
        AttachmentInfo("voice-message.ogg", "audio/ogg; codecs=opus", 40_000, CDN), max_bytes=MB
    )
    assert source.kind == "file"
    assert source.label == "voice-message.ogg"


def test_check_attachment_without_type_falls_back_to_extension() -> None:
    assert check_attachment(AttachmentInfo("song.wav", None, 10, CDN), max_bytes=MB).label == "song.wav"
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("notes.txt", None, 10, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.NOT_AUDIO
    assert info.value.details == {"filename": "notes.txt"}


def test_check_attachment_refuses_image_named_mp3() -> None:
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("song.mp3", "image/png", 10, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.NOT_AUDIO


def test_check_attachment_octet_stream_uses_extension() -> None:
    assert (
        check_attachment(AttachmentInfo("song.aiff", "application/octet-stream", 10, CDN), max_bytes=MB).kind
        == "file"
    )
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("data.bin", "application/octet-stream", 10, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.NOT_AUDIO


def test_check_attachment_size_cap() -> None:
    assert check_attachment(AttachmentInfo("a.mp3", "audio/mpeg", MB, CDN), max_bytes=MB).label == "a.mp3"
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("a.mp3", "audio/mpeg", MB + 1, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.TOO_LARGE
    assert info.value.details == {"filename": "a.mp3", "size": MB + 1, "limit": MB}


@pytest.mark.parametrize("size", [0, -1])
def test_check_attachment_empty(size: int) -> None:
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("a.mp3", "audio/mpeg", size, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.EMPTY_FILE
    assert info.value.details == {"filename": "a.mp3"}


def test_check_attachment_type_is_checked_before_size() -> None:
    with pytest.raises(SourceRejected) as info:
        check_attachment(AttachmentInfo("huge.txt", "text/plain", 10 * MB, CDN), max_bytes=MB)
    assert info.value.reason is Rejection.NOT_AUDIO


def test_audio_sources_keeps_order_skips_past_the_limit_and_leaves_out_what_is_not_audio() -> None:
    picked = audio_sources(
        [
            AttachmentInfo("a.mp3", "audio/mpeg", 10, CDN),
            AttachmentInfo("notes.txt", "text/plain", 10, CDN),
            AttachmentInfo("big.wav", "audio/wav", 2 * MB, CDN),
            AttachmentInfo("b.mp3", "audio/mpeg", 10, CDN),
            AttachmentInfo("c.mp3", "audio/mpeg", 10, CDN),
        ],
        limit=2,
        max_bytes=MB,
    )
    assert [p.label if isinstance(p, Source) else p.reason for p in picked] == [
        "a.mp3",
        Rejection.TOO_LARGE,  # refused files do not count against the limit
        "b.mp3",
        Rejection.TOO_MANY,
    ]
    assert isinstance(picked[3], SourceRejected) and picked[3].details == {"filename": "c.mp3", "limit": 2}


def test_audio_sources_of_a_message_without_audio_is_empty() -> None:
    assert audio_sources([AttachmentInfo("notes.txt", "text/plain", 10, CDN)], limit=5, max_bytes=MB) == []
