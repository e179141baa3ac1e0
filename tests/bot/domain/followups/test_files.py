"""Which files a follow-up's result attaches, by what the catalog says its operation yields."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.followups.catalog import CATALOG, ResultKind
from bot.domain.followups.files import attached
from bot.domain.followups.records import ClipOrigin, FollowUpRecord, FollowUpState, Operation, Song
from bot.domain.media import FileKind

SONGS = [
    Song("s1", "Night Bus - Vocals", audio_url="https://x.org/1.mp3", image_url="https://x.org/1.png"),
    Song("s2", "Night Bus - Instrumental", audio_url="https://x.org/2.mp3"),
]


def settled(operation: Operation, songs: list[Song] | None = None, **result: object) -> FollowUpRecord:
    """A succeeded follow-up on the song "Night Bus": its songs, or its `result` (a link or a value)."""
    return FollowUpRecord(
        user_id=7, guild_id=42, channel_id=9, application_id=1, interaction_id=1, interaction_token="tok",
        token_expires_at=0.0, locale="en-US", action=operation, origin=ClipOrigin.SONG, source_id=1,
        source_clip_id="clip", source_label="Night Bus", task_type="", model="sonic-v6", credits=1,
        state=FollowUpState.SUCCEEDED, songs=songs or [], result=dict(result) or None,
    )  # fmt: skip


@pytest.mark.parametrize("operation", [op for op, s in CATALOG.items() if s.result is ResultKind.SONGS])
def test_songs_attach_their_audio_and_cover_art(operation: Operation) -> None:
    files = attached(settled(operation, songs=SONGS))
    assert [(w.filename, w.kind) for w in files] == [
        ("Night Bus - Vocals.mp3", FileKind.AUDIO),
        ("cover-1.png", FileKind.IMAGE),
        ("Night Bus - Instrumental.mp3", FileKind.AUDIO),
    ]


def test_stems_attach_each_part_under_the_songs_title() -> None:
    files = attached(settled(Operation.STEMS, songs=SONGS))
    assert [(w.filename, w.url) for w in files] == [
        ("Night Bus - vocals.mp3", "https://x.org/1.mp3"),
        ("Night Bus - instrumental.mp3", "https://x.org/2.mp3"),
    ]


def test_a_midi_result_attaches_its_file_and_a_wav_or_a_value_nothing() -> None:
    midi = settled(Operation.MIDI, url="https://x.org/n.mid", instruments=["Bass"])
    (file,) = attached(midi)
    assert (file.filename, file.kind, file.url) == ("Night Bus.mid", FileKind.MIDI, "https://x.org/n.mid")
    assert attached(settled(Operation.WAV, url="https://x.org/w.wav")) == []
    assert attached(settled(Operation.BPM, bpm=[120, 118, 122])) == []
    assert attached(settled(Operation.MIDI, url=None)) == []


def test_nothing_is_attached_before_a_result_or_after_a_failure() -> None:
    for state in (FollowUpState.PENDING, FollowUpState.FAILED):
        made = dataclasses.replace(settled(Operation.STEMS, songs=SONGS), state=state)
        assert attached(made) == []
