"""The one place where outcomes and failures become sentences for a member, in the reader's language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from bot.domain.errors import ErrorKind, UploadError
from bot.domain.followups.catalog import CATALOG, ResultKind
from bot.domain.followups.ports import Credits
from bot.domain.followups.records import (
    Allowance,
    ClipOrigin,
    FollowUpRecord,
    FollowUpState,
    Operation,
    Refusal,
    Song,
)
from bot.domain.hosts import shown_links
from bot.domain.media import Miss
from bot.domain.records import SourceKind, UploadRecord, UploadState
from bot.domain.redact import redact_urls
from bot.domain.sources import Rejection, SourceRejected
from bot.domain.texts import Texts

_MARKDOWN = re.compile(r"([\\*_~`|>\[\]<:])")
MAX_LABEL = 100
#: Discord refuses messages over 2000 characters.
MAX_MESSAGE = 2000
HISTORY_PAGE = 10


#: Breaks a mention (`@everyone`, `<@id>`) in text from outside; the one invisible character a reply keeps.
MENTION_BREAKER = "\u200b"


def visible(text: str) -> str:
    """`text` without format characters (Unicode category Cf): bidirectional overrides and isolates
    (U+202A-U+202E, U+2066-U+2069), zero-width spaces and joiners, U+FEFF, U+061C, ... They could
    reorder or hide the rest of a reply."""
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def plain(text: str, limit: int = MAX_LABEL) -> str:
    """Text from outside (file names, links, MusicAPI's reasons) made inert in Discord markdown.

    A link's host that is not plain ASCII is shown in its `xn--` form first (a format character in it is
    part of what it names); then format characters go, so that none can hide a link's query from
    redaction or a mention from the breaker; the breaker is inserted after "@" at the very end.
    """
    text = " ".join(redact_urls(visible(shown_links(text))).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN.sub(_escaped, text).replace("@", "@" + MENTION_BREAKER)


def _escaped(match: re.Match[str]) -> str:
    # A function, not the template r"\\\1": Python 3.11 expands a template in Python for each match.
    return "\\" + match[1]


def fit_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut a message to what Discord accepts, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_size(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:.1f} MB" if mib >= 1 else f"{max(size // 1024, 1)} KB"


def rejection(texts: Texts, reason: Rejection, details: Mapping[str, str | int]) -> str:
    """Why a source was refused (or a file of a message skipped), from its reason code and parameters."""
    values: dict[str, object] = dict(details)
    if "filename" in values:
        values["filename"] = plain(str(values["filename"]))
    if reason is Rejection.TOO_LARGE:
        values["size"] = human_size(int(str(values["size"])))
        values["limit"] = human_size(int(str(values["limit"])))
    if reason is Rejection.TOO_MANY:
        return texts("message.too_many", **values)
    if "scheme" in values:
        values["scheme"] = plain(str(values["scheme"]), 20)
    if "host" in values:
        values["host"] = plain(str(values["host"]))
    return texts(f"source.{reason.value}", **values)


def refusal(texts: Texts, exc: SourceRejected) -> str:
    return rejection(texts, exc.reason, exc.details)


def success(texts: Texts, clip_id: str, label: str, follow_ups: bool = False) -> str:
    """A clip_id; `follow_ups`: the answer carries a menu of follow-ups (whichever FOLLOW_UPS offers), and
    points to it without naming any."""
    key = "upload.success_follow_ups" if follow_ups else "upload.success"
    return texts(key, clip_id=clip_id.replace("`", ""), label=plain(label))


def _eta(texts: Texts, seconds: float) -> str:
    minutes = round(seconds / 60)
    return texts("eta.under_a_minute") if minutes < 1 else texts("eta.minutes", minutes=minutes)


def waiting(texts: Texts, place: int, seconds: float) -> str:
    """An answer's place in the bot's line for MusicAPI, and about how long until its turn."""
    return texts("upload.queued", place=place, eta=_eta(texts, seconds))


def line_too_long(texts: Texts, seconds: float) -> str:
    """A refusal at the door: the upload would have waited about `seconds` for its turn."""
    return texts("upload.line_too_long", wait=_eta(texts, seconds))


def line_full(texts: Texts, capacity: int) -> str:
    """A refusal at the door: the line already holds `capacity` waiting uploads (MAX_QUEUE, a bound on memory)."""
    return texts("upload.line_full", count=capacity)


def pending(texts: Texts, label: str) -> str:
    return texts("upload.pending", label=plain(label))


def failure(texts: Texts, kind: ErrorKind, label: str, detail: str = "", *, file: bool = False) -> str:
    """Words for a failed upload; `detail` is MusicAPI's own reason where it gave one; `file`: the member
    gave a file (or a message's attachment), not a link, and the advice says so."""
    reason = plain(detail, 300) if detail else ""
    key = f"error.{kind.value}"
    if kind in (ErrorKind.BAD_REQUEST, ErrorKind.FAILED) and not reason:
        key += "_no_reason"
        if kind is ErrorKind.BAD_REQUEST and file:
            key += "_file"
    if kind is ErrorKind.FORBIDDEN and not reason:
        reason = "403"
    return _with_reason(texts, key, reason, label=plain(label))


def _with_reason(texts: Texts, key: str, reason: str, **values: str) -> str:
    """`key` with MusicAPI's `reason` in it, and one full stop where the reason's own and the text's
    would meet ("...generate midi.. The credits..." otherwise)."""
    text = texts(key, reason=reason, **values)
    if not reason.endswith("."):
        return text
    # The text's own stop after the reason is the one kept (a Japanese text's "。" included).
    return text.replace(f"{reason}.", reason, 1).replace(f"{reason}。", f"{reason[:-1]}。", 1)


def error(texts: Texts, exc: UploadError, label: str) -> str:
    return failure(texts, exc.kind, label, exc.detail)


def outcome(texts: Texts, record: UploadRecord, follow_ups: bool = False) -> str:
    """One upload as it stands: its clip_id, its failure, or that MusicAPI is still at work."""
    if record.state is UploadState.SUCCEEDED and record.clip_id:
        return success(texts, record.clip_id, record.label, follow_ups)
    if record.state is UploadState.FAILED and record.skip_reason is not None:
        return _skipped(texts, record)
    if record.state is UploadState.FAILED:
        return failure(
            texts,
            record.error_kind or ErrorKind.FAILED,
            record.label,
            record.error_detail or "",
            file=record.source_kind is SourceKind.FILE,
        )
    return pending(texts, record.label)


def _skipped(texts: Texts, record: UploadRecord) -> str:
    try:
        reason = Rejection(record.skip_reason or "")
    except ValueError:  # a row written before reasons were codes keeps the sentence it was shown
        return record.error_detail or texts("error.failed_no_reason", label=plain(record.label))
    return rejection(texts, reason, record.skip_params)


def outcomes(texts: Texts, records: Sequence[UploadRecord], follow_ups: bool = False) -> str:
    """The whole answer to one interaction: the message its files came from (when they did), then one
    paragraph per file, within Discord's 2000 characters."""
    paragraphs = [outcome(texts, r, follow_ups) for r in records]
    source = records[0].source_message if records else None
    if source and _MESSAGE_LINK.fullmatch(source):
        paragraphs.insert(0, texts("upload.from_message", link=source))
    return fit_message("\n\n".join(paragraphs))


#: A Discord message's link, as the bot keeps it for an upload from a message.
_MESSAGE_LINK = re.compile(r"https://discord\.com/channels/(?:\d{1,20}|@me)/\d{1,20}/\d{1,20}")


def history(texts: Texts, records: Sequence[UploadRecord], page: int) -> str:
    """One page of a member's uploads, newest first."""
    if not records and page == 0:
        return texts("history.empty")
    rows = [
        texts(
            "history.row",
            clip=f"`{r.clip_id.replace('`', '')}`" if r.clip_id else texts("history.no_clip"),
            label=plain(r.label, 60),
            state=texts(f"history.state.{r.state.value}"),
            when=f"<t:{int(r.created_at)}:R>",
        )
        for r in records
    ]
    return fit_message("\n".join([texts("history.title", page=page + 1), *rows]))


# -- follow-ups -------------------------------------------------------------------------------------------
def duration(seconds: float | None) -> str:
    """`2:05`, or `?:??` when MusicAPI gave no duration."""
    if seconds is None:
        return "?:??"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _link(url: str | None) -> str | None:
    """A song's audio link, safe inside a markdown link: http(s), no query (it may be signed)."""
    if not url:
        return None
    clean = redact_urls(visible(shown_links(url)))
    if not clean.startswith(("https://", "http://")) or any(c in clean for c in " <>()[]`|\n"):
        return None
    return clean


def song(texts: Texts, n: int, item: Song) -> str:
    url = _link(item.audio_url)
    return texts(
        "followup.song",
        n=n,
        title=plain(item.title, 80) if item.title.strip() else texts("followup.song.untitled"),
        duration=duration(item.duration),
        audio=texts("followup.song.listen", url=url) if url else texts("followup.song.no_audio"),
        clip_id=item.clip_id.replace("`", ""),
    )


#: Failures a follow-up has words of its own for; any other is worded as an upload's (`failure`).
_FOLLOW_UP_OWN = frozenset(
    {
        ErrorKind.BAD_REQUEST,
        ErrorKind.COPYRIGHT,
        ErrorKind.NO_CREDITS,
        ErrorKind.FAILED,
        ErrorKind.FORBIDDEN,
        ErrorKind.TIMED_OUT,
        ErrorKind.UNCONFIRMED,
    }
)


def follow_up_failure(
    texts: Texts, kind: ErrorKind, label: str, detail: str = "", operation: Operation | None = None
) -> str:
    """Why a follow-up made nothing; only what happened is claimed (refunds only where MusicAPI refunds:
    failed generations, not the answers of its synchronous calls, WAV, MIDI and BPM, whose failures
    MusicAPI says nothing about refunding)."""
    reason = plain(detail, 300) if detail else ""
    if kind is ErrorKind.FAILED and operation is not None and CATALOG[operation].synchronous:
        name = texts(f"followup.button.{operation.value}")
        key = "followup.error.failed_result" if reason else "followup.error.failed_result_no_reason"
        return _with_reason(texts, key, reason, operation=name, label=plain(label))
    if kind not in _FOLLOW_UP_OWN:
        return failure(texts, kind, label, detail)
    key = f"followup.error.{kind.value}"
    if kind in (ErrorKind.BAD_REQUEST, ErrorKind.FAILED, ErrorKind.FORBIDDEN) and not reason:
        key += "_no_reason"
    return _with_reason(texts, key, reason, label=plain(label))


def credit_count(texts: Texts, amount: int | str) -> str:
    """An amount of credits as the language counts it: "1 credit", "15 credits"; a range of prices
    (`1–30`, see `price_range`) is counted as many."""
    if isinstance(amount, str) and not amount.isdecimal():
        return texts("count.credits.other", count=amount)
    return texts.plural("count.credits", int(amount))


def follow_up(texts: Texts, record: FollowUpRecord, *, menu: bool = False) -> str:
    """A follow-up as it stands: at work, its result (songs, files, a link or a value, as the catalog says
    the operation yields), or why it made nothing. `menu`: its songs carry a menu of follow-ups, and the
    answer ends pointing to it (without naming any: FOLLOW_UPS decides which there are)."""
    label = plain(record.source_label, 80)
    op = record.action.value
    if record.state is FollowUpState.PENDING:
        return texts(f"followup.working.{op}", label=label, cost=credit_count(texts, record.credits))
    kind = CATALOG[record.action].result
    if record.state is FollowUpState.FAILED or not (record.songs or record.result):
        error = record.error_kind or ErrorKind.FAILED
        return fit_message(
            follow_up_failure(texts, error, record.source_label, record.error_detail or "", record.action)
        )
    if kind is ResultKind.SONGS:
        head = texts(
            f"followup.done.{op}", label=label, songs=texts.plural("count.new_songs", len(record.songs))
        )
        rows = [song(texts, i, s) for i, s in enumerate(record.songs, start=1)]
        hint = [texts("followup.hint")] if menu else []
        return fit_message("\n\n".join([head, *rows, *hint]))
    if kind is ResultKind.FILES:
        head = texts(f"followup.done.{op}", label=label, files=texts.plural("count.files", len(record.songs)))
        return fit_message(
            "\n".join([head, *(_file(texts, i, s) for i, s in enumerate(record.songs, start=1))])
        )
    return fit_message(_value(texts, record, label))


def _file(texts: Texts, n: int, item: Song) -> str:
    """One audio file of a result (a stem), under its own name."""
    url = _link(item.audio_url)
    return texts(
        "followup.file",
        n=n,
        title=plain(item.title, 80) if item.title.strip() else texts("followup.song.untitled"),
        audio=texts("followup.song.listen", url=url) if url else texts("followup.song.no_audio"),
    )


def _value(texts: Texts, record: FollowUpRecord, label: str) -> str:
    """A link (WAV, MIDI with its instruments) or a value (BPM), with what it cost."""
    result = record.result or {}
    op = record.action.value
    if "bpm" in result:
        bpm = [v if isinstance(v, int | float) else None for v in list(result["bpm"])[:3]]
        bpm += [None] * (3 - len(bpm))
        low, high = bpm[1], bpm[2]
        spread = texts("followup.bpm.range", low=f"{low:g}", high=f"{high:g}") if low and high else ""
        return texts(
            f"followup.done.{op}", label=label, bpm=f"{bpm[0] or 0:g}", range=spread, credits=record.credits
        )
    url = _link(result.get("url") if isinstance(result.get("url"), str) else None)
    if url is None:
        return follow_up_failure(texts, ErrorKind.FAILED, record.source_label, operation=record.action)
    line = texts(f"followup.done.{op}", label=label, url=url, credits=record.credits)
    names = [plain(str(n), 40) for n in result.get("instruments") or [] if str(n).strip()]
    if names:
        line += "\n" + texts("followup.midi.instruments", names=", ".join(names))
    return line


def refusal_of(texts: Texts, allowance: Allowance, operation: Operation) -> str:
    """Why a follow-up may not start now, and when it may (or why it never will on this clip)."""
    name = texts(f"followup.button.{operation.value}")
    if allowance.refusal is Refusal.CLIP_KIND:
        takes = next(iter(CATALOG[operation].task_types), ClipOrigin.UPLOAD)
        return texts(
            "followup.refused.clip_kind", operation=name, kind=texts(f"followup.takes.{takes.value}")
        )
    if allowance.refusal is Refusal.TOO_OLD:
        return texts("followup.refused.too_old", operation=name)
    when = f"<t:{int(allowance.frees_at + 0.999)}:R>"
    if allowance.refusal is Refusal.OVER_BUDGET:
        return texts("followup.over_budget", budget=credit_count(texts, allowance.budget), when=when)
    if allowance.refusal is Refusal.OVER_CEILING:
        return texts("followup.over_ceiling", when=when)
    return texts("followup.cooldown", when=when)


def credits_report(
    texts: Texts,
    credits: Credits | None,
    problem: str,
    spent: Mapping[int, int],
    names: Mapping[int, str],
    *,
    budget: int,
    threshold: int,
    cost: str,
) -> str:
    """The owner's view: credits left at MusicAPI, and what each server spent on follow-ups today."""
    if credits is not None:
        head = texts(
            "owner.credits",
            credits=credits.total,
            extra=credits.extra_credits,
            threshold=threshold if threshold > 0 else texts("owner.alert_off"),
            cost=cost,
        )
    else:
        head = texts("owner.credits.unavailable", reason=problem)
    rows = [
        texts(
            "owner.spend.row",
            server=plain(names.get(guild, str(guild)), 60) if guild else texts("owner.spend.dms"),
            spent=credit_count(texts, amount),
        )
        for guild, amount in spent.items()
    ] or [texts("owner.spend.none")]
    title = texts("owner.spend", budget=budget if budget > 0 else texts("owner.no_limit"))
    return fit_message("\n".join([head, "", title, *rows]))


def with_day_total(texts: Texts, report: str, spent: int, ceiling: int) -> str:
    """The owner's report with the whole bot's spend today against TOTAL_DAILY_CREDITS."""
    if ceiling > 0:
        total = texts("owner.total", spent=spent, ceiling=credit_count(texts, ceiling))
    else:
        total = texts(
            "owner.total.unlimited", spent=credit_count(texts, spent), limit=texts("owner.no_limit")
        )
    return fit_message(report + "\n\n" + total)


def low_credits(texts: Texts, credits: Credits, threshold: int, cost: str) -> str:
    """`cost`: what follow-ups cost, `15` or a range `1–30`."""
    return texts(
        "owner.low_credits",
        credits=credit_count(texts, credits.total),
        threshold=threshold,
        cost=credit_count(texts, cost),
    )


# -- files attached to answers ----------------------------------------------------------------------------
def file_link(url: str | None) -> str | None:
    """A file's link as a member may see it (http(s), no query), or None."""
    return _link(url)


def song_caption(texts: Texts, n: int, item: Song) -> str:
    """What goes beside a song's cover art: its number, title, duration and style."""
    title = plain(item.title, 80) if item.title.strip() else texts("followup.song.untitled")
    parts = [f"**{n}. {title}**", duration(item.duration)]
    if item.tags.strip():
        parts.append(plain(item.tags, 200))
    return " · ".join(parts)


def missed_file(texts: Texts, filename: str, reason: Miss, size: int | None, limit: int) -> str:
    """Why a file comes as a link instead of an attachment, in one short line."""
    values: dict[str, object] = {"name": plain(filename, 80), "limit": human_size(limit)}
    if reason is Miss.TOO_LARGE and size is not None:
        return texts("media.missed.too_large_size", size=human_size(size), **values)
    return texts(f"media.missed.{reason.value}", **values)


def member_file_too_large(texts: Texts, filename: str, size: int, limit: int) -> str:
    """Why a member's own file does not go with the answer."""
    return texts(
        "media.member_too_large", name=plain(filename, 80), size=human_size(size), limit=human_size(limit)
    )
