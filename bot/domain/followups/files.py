"""The files a follow-up's result carries, so that Discord plays (or offers) them in place: what the
catalog says the operation yields decides which."""

from __future__ import annotations

from bot.domain.followups.catalog import CATALOG, ResultKind
from bot.domain.followups.records import FollowUpRecord, FollowUpState
from bot.domain.media import Wanted, linked_file, song_files, stem_files, stem_parts


def attached(record: FollowUpRecord) -> list[Wanted]:
    """What a succeeded follow-up attaches: each song as `<title>.mp3` with its cover art; stems as
    `<title> - <part>.mp3`; a link result's file when the catalog says so (MIDI's `<title>.mid`);
    nothing for a link that stays one (a WAV) or a value (BPM)."""
    if record.state is not FollowUpState.SUCCEEDED:
        return []
    spec = CATALOG[record.action]
    if spec.result is ResultKind.SONGS:
        return song_files(record.songs)
    if spec.result is ResultKind.FILES:
        return stem_files(record.source_label, stem_parts(record.songs))
    url = (record.result or {}).get("url")
    if spec.result is ResultKind.LINK and spec.link_file is not None and isinstance(url, str) and url:
        return [linked_file(spec.link_file, record.source_label, url)]
    return []
