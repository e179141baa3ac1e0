"""Files the bot attaches to its answers, so that Discord plays them in place: what to fetch, under which
name, and why a file went as a link instead. The fetching itself is an adapter's (`Fetcher`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, Protocol

from bot.domain.followups.records import Song

#: What Discord takes per message when it says nothing else (`attachment_size_limit`, unboosted servers).
DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024
#: Discord's most files in one message.
MAX_FILES = 10
#: The longest file name the bot gives (Discord shows the name beside the player).
MAX_NAME = 80


class FileKind(StrEnum):
    AUDIO = "audio"
    IMAGE = "image"
    MIDI = "midi"


class Miss(StrEnum):
    """Why a file goes as a link instead of an attachment."""

    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    TIMED_OUT = "timed_out"
    REFUSED = "refused"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class Wanted:
    """A file to attach: where MusicAPI serves it, the name it gets in the message, what it is, and which
    item of the answer it belongs to (`n`, from 1)."""

    url: str
    filename: str
    kind: FileKind = FileKind.AUDIO
    n: int = 1


@dataclass(slots=True)
class Fetched:
    """A file fetched in full, spooled to a temporary file; whoever holds it closes it (which removes it)."""

    wanted: Wanted
    file: BinaryIO
    size: int

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True, slots=True)
class Missed:
    """A file that is not attached, and why; `size` is what it declared or ran to, when known."""

    wanted: Wanted
    reason: Miss
    size: int | None = None
    #: The limit it was held to, when that is why.
    limit: int | None = None


class Fetcher(Protocol):
    """Fetches one file MusicAPI named, within `cap` bytes and the fetcher's own time limit."""

    async def fetch(self, wanted: Wanted, cap: int) -> Fetched | Missed: ...


class FileMetrics(Protocol):
    """Counts what became of each file an answer wanted to carry."""

    def file_attached(self, kind: str, outcome: str) -> None:
        """`outcome`: "attached", or why it went as a link (a `Miss` value)."""
        ...


_UNSAFE = re.compile(r"[^\w\s().,'&!+-]")


def file_name(title: str, extension: str, suffix: str = "", fallback: str = "song") -> str:
    """`<title><suffix>.<extension>` with only letters, digits, spaces and plain punctuation: no path,
    no control or format characters, no markdown; `fallback` when nothing is left of the title."""
    text = unicodedata.normalize("NFC", f"{title}{suffix}")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    text = " ".join(_UNSAFE.sub(" ", text).split()).strip(" .")
    stem = text[: MAX_NAME - len(extension) - 1].rstrip(" .") or fallback
    return f"{stem}.{extension}"


def song_files(songs: Sequence[Song]) -> list[Wanted]:
    """Each song's audio as `<title>.mp3`, then its cover art (`cover-<n>.<ext>`), numbered from 1;
    songs without a link have nothing to fetch. Names are made unique within the message."""
    wanted: list[Wanted] = []
    for n, song in enumerate(songs, start=1):
        if song.audio_url:
            wanted.append(Wanted(song.audio_url, file_name(song.title, "mp3"), FileKind.AUDIO, n))
        if song.image_url:
            wanted.append(
                Wanted(song.image_url, f"cover-{n}.{_image_extension(song.image_url)}", FileKind.IMAGE, n)
            )
    return unique_names(wanted)


def stem_files(title: str, stems: Sequence[tuple[str, str | None]]) -> list[Wanted]:
    """Stems (part, audio_url) as `<title> - <part>.mp3` (`Night Bus - vocals.mp3`), numbered from 1;
    a stem without a link has nothing to fetch."""
    wanted = [
        Wanted(url, file_name(title, "mp3", f" - {part}"), FileKind.AUDIO, n)
        for n, (part, url) in enumerate(stems, start=1)
        if url
    ]
    return unique_names(wanted)


def midi_file(title: str, url: str) -> Wanted:
    """A MIDI result as `<title>.mid`. (A WAV is no attachment: a three-minute one is about 30 MiB.)"""
    return linked_file(FileKind.MIDI, title, url)


#: The extension a file linked from a result gets, by its kind.
_EXTENSIONS = {FileKind.AUDIO: "mp3", FileKind.MIDI: "mid"}


def linked_file(kind: FileKind, title: str, url: str) -> Wanted:
    """The file a result links to, as `<title>.<extension of its kind>` (`Night Bus.mid`)."""
    extension = _EXTENSIONS.get(kind) or _image_extension(url)
    return Wanted(url, file_name(title, extension), kind)


def stem_parts(stems: Sequence[Song]) -> list[tuple[str, str | None]]:
    """Each stem's part (lower case) and audio link. MusicAPI names the part in the title's suffix
    (`Night Bus - Vocals`); without one, the stem with "vocal" in its title is the vocals and, in a
    two-stem answer, the other one the instrumental; any other stem is `part <n>`."""
    suffixes = [_suffix(stem.title) for stem in stems]
    vocal = [i for i, stem in enumerate(stems) if "vocal" in stem.title.lower()]
    parts = []
    for i, (stem, suffix) in enumerate(zip(stems, suffixes, strict=True)):
        if suffix:
            part = suffix
        elif i in vocal:
            part = "vocals"
        elif len(stems) == 2 and len(vocal) == 1:
            part = "instrumental"
        else:
            part = f"part {i + 1}"
        parts.append((part, stem.audio_url))
    return parts


def _suffix(title: str) -> str:
    head, dash, tail = title.rpartition(" - ")
    return " ".join(tail.split()).lower() if dash and head.strip() else ""


def unique_names(wanted: Sequence[Wanted]) -> list[Wanted]:
    """The same files, a name met twice getting ` (2)`, ` (3)`... before its extension."""
    seen: set[str] = set()
    out: list[Wanted] = []
    for item in wanted:
        name = item.filename
        stem, dot, ext = name.rpartition(".")
        k = 2
        while name.lower() in seen:
            name = f"{stem} ({k}){dot}{ext}"
            k += 1
        seen.add(name.lower())
        out.append(Wanted(item.url, name, item.kind, item.n))
    return out


def _image_extension(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    for ext in ("png", "webp", "gif", "jpeg", "jpg"):
        if path.endswith("." + ext):
            return ext
    return "jpg"


def within(wanted: Sequence[Wanted], limit: int = MAX_FILES) -> tuple[list[Wanted], list[Missed]]:
    """The files one message can carry (Discord takes at most `limit`), audio first; the rest as links."""
    order = sorted(wanted, key=lambda w: (w.kind is FileKind.IMAGE, w.n))
    kept = order[:limit]
    return [w for w in wanted if w in kept], [Missed(w, Miss.TOO_MANY) for w in wanted if w not in kept]
