"""Which files the bot fetches for attachments (syntactic checks only), and the names they get."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.followups.records import Song
from bot.domain.links import check_link, fetchable
from bot.domain.media import (
    MAX_NAME,
    FileKind,
    Miss,
    Wanted,
    file_name,
    linked_file,
    midi_file,
    song_files,
    stem_files,
    stem_parts,
    unique_names,
    within,
)
from bot.domain.sources import Rejection, SourceRejected
from tests.bot.domain.test_links_property import hostnames

OWN = "http://127.0.0.1:8731"


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn1.suno.ai/abc.mp3",
        "https://cdn.musicapi.ai/x/y.mid?v=1",
        "http://127.0.0.1:8731/files/a.mp3",  # MUSICAPI_BASE_URL's own host: a local stand-in's files
        "HTTP://127.0.0.1:8731/files/a.mp3",
    ],
)
def test_public_https_and_musicapis_own_host_are_fetched(url: str) -> None:
    assert fetchable(url, OWN)


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn1.suno.ai/abc.mp3",  # not https
        "https://10.0.0.7/internal.mp3",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/a.mp3",
        "https://localhost/a.mp3",
        "https://0177.1/a.mp3",
        "https://metadata.internal/a.mp3",
        "http://127.0.0.1:8732/files/a.mp3",  # the same host on another port is not MusicAPI
        "https://127.0.0.1:8731/files/a.mp3",  # nor another scheme
        "http://user:pw@127.0.0.1:8731/files/a.mp3",
        "ftp://cdn.example.org/a.mp3",
        "https://cdn.suno.ai/a b.mp3",
        "",
    ],
)
def test_anything_else_is_not_fetched(url: str) -> None:
    assert not fetchable(url, OWN)


def test_without_an_own_origin_only_public_https_is_fetched() -> None:
    assert fetchable("https://cdn1.suno.ai/abc.mp3")
    assert not fetchable("http://127.0.0.1:8731/files/a.mp3")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(["http", "https"]))
def test_no_private_address_is_ever_fetched(n: int, scheme: str) -> None:
    ip = ipaddress.IPv4Address(n)
    url = f"{scheme}://{ip}/a.mp3"
    if fetchable(url, "https://api.musicapi.ai"):
        assert scheme == "https" and ip.is_global


def _public_to_members(url: str) -> bool:
    """check_link's verdict on the host: accepted, or refused only as a page (not as an address)."""
    try:
        check_link(url)
    except SourceRejected as exc:
        return exc.reason in (Rejection.STREAMING_PAGE, Rejection.DISCORD_PAGE)
    return True


@settings(max_examples=300, deadline=None)
@given(hostnames, st.sampled_from(["http", "https", "HTTPS"]))
def test_a_fetched_url_is_https_to_a_host_members_may_link_to(host: str, scheme: str) -> None:
    """The same syntactic rules as a member's link, plus https: one policy, not two."""
    url = f"{scheme}://{host}/a.mp3"
    assert fetchable(url) == (scheme.lower() == "https" and _public_to_members(url))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["mp3", "jpg", "mid"]), st.text(max_size=20))
def test_a_file_name_is_plain_and_bounded(title: str, ext: str, suffix: str) -> None:
    name = file_name(title, ext, suffix)
    assert name.endswith("." + ext) and len(name) <= MAX_NAME
    assert not any(c in name for c in '/\\:*?"<>|`\n\r\t\0')
    assert name[0] not in " ." and name.isprintable()


def test_file_names() -> None:
    assert file_name("Night Drive (1)", "mp3") == "Night Drive (1).mp3"
    assert file_name("../../etc/passwd", "mp3") == "etc passwd.mp3"
    assert file_name("Night Bus", "mp3", " - vocals") == "Night Bus - vocals.mp3"
    assert file_name("", "mp3") == "song.mp3" and file_name("***", "mid") == "song.mid"
    assert file_name("夜のドライブ", "mp3") == "夜のドライブ.mp3"


def test_song_files_name_each_song_and_cover_once() -> None:
    songs = [
        Song("a", "Same", audio_url="https://x.example.org/a.mp3", image_url="https://x.example.org/a.png"),
        Song("b", "Same", audio_url="https://x.example.org/b.mp3"),
        Song("c", "No audio yet"),
    ]
    wanted = song_files(songs)
    assert [(w.filename, w.kind, w.n) for w in wanted] == [
        ("Same.mp3", FileKind.AUDIO, 1), ("cover-1.png", FileKind.IMAGE, 1), ("Same (2).mp3", FileKind.AUDIO, 2),
    ]  # fmt: skip


def test_at_most_ten_files_audio_first() -> None:
    wanted = unique_names(
        [Wanted(f"https://x.org/{n}.jpg", "c.jpg", FileKind.IMAGE, n) for n in range(1, 7)]
        + [Wanted(f"https://x.org/{n}.mp3", "s.mp3", FileKind.AUDIO, n) for n in range(1, 7)]
    )
    kept, missed = within(wanted)
    assert len(kept) == 10 and sum(w.kind is FileKind.AUDIO for w in kept) == 6
    assert [m.reason for m in missed] == [Miss.TOO_MANY, Miss.TOO_MANY]
    assert {m.wanted.kind for m in missed} == {FileKind.IMAGE}


def test_names_are_unique_whatever_their_case() -> None:
    names = [
        w.filename for w in unique_names([Wanted("u", "A.mp3"), Wanted("u", "a.mp3"), Wanted("u", "a.mp3")])
    ]
    assert names == ["A.mp3", "a (2).mp3", "a (3).mp3"]


def test_stems_and_midi_are_named_after_the_song() -> None:
    stems = stem_files(
        "Night Bus", [("vocals", "https://x.org/a.mp3"), ("instrumental", "https://x.org/b.mp3")]
    )
    assert [(w.filename, w.n) for w in stems] == [
        ("Night Bus - vocals.mp3", 1),
        ("Night Bus - instrumental.mp3", 2),
    ]
    assert stem_files("Night Bus", [("vocals", None)]) == []
    midi = midi_file("Night Bus", "https://x.org/n.mid")
    assert (midi.filename, midi.kind) == ("Night Bus.mid", FileKind.MIDI)


@pytest.mark.parametrize(
    ("titles", "parts"),
    [
        (["Night Bus - Vocals", "Night Bus - Instrumental"], ["vocals", "instrumental"]),
        (["A - B - Drums", "Bass"], ["drums", "part 2"]),
        (["Lead vocal take", "Backing"], ["vocals", "instrumental"]),  # two stems: the other one
        (["Backing", "Lead vocal take"], ["instrumental", "vocals"]),
        (["One", "Two"], ["part 1", "part 2"]),  # no clue: neither is called the vocals
        (["Vocals", "Vocal harmony", "Keys"], ["vocals", "vocals", "part 3"]),
        ([" - Keys"], ["part 1"]),  # a suffix with nothing before it names no part
    ],
)
def test_a_stems_part_is_read_from_its_title(titles: list[str], parts: list[str]) -> None:
    stems = [Song(f"c{i}", title, audio_url=f"https://x.org/{i}.mp3") for i, title in enumerate(titles)]
    assert stem_parts(stems) == [(part, s.audio_url) for part, s in zip(parts, stems, strict=True)]


@given(st.lists(st.text(max_size=60), min_size=1, max_size=12), st.text(max_size=100))
def test_stems_get_distinct_plain_mp3_names_whatever_musicapi_calls_them(
    titles: list[str], song: str
) -> None:
    stems = [Song(f"c{i}", title, audio_url=f"https://x.org/{i}.mp3") for i, title in enumerate(titles)]
    names = [w.filename for w in stem_files(song, stem_parts(stems))]
    assert len(names) == len(titles) and len({n.lower() for n in names}) == len(names)
    assert all(n.endswith(".mp3") and "/" not in n and "\\" not in n for n in names)


def test_a_linked_file_takes_the_extension_of_its_kind() -> None:
    assert linked_file(FileKind.MIDI, "Night Bus", "https://x.org/f").filename == "Night Bus.mid"
    assert linked_file(FileKind.AUDIO, "Night Bus", "https://x.org/f.wav").filename == "Night Bus.mp3"
