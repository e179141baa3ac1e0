"""The one place where outcomes and failures become sentences for a member."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.errors import ErrorKind, UploadError
from bot.redact import redact_urls
from bot.sources import Rejection, SourceRejected
from bot.store import FAILED, SKIPPED, SUCCEEDED, UploadRecord
from bot.texts import Texts

_MARKDOWN = re.compile(r"([\\*_~`|>\[\]<:])")
MAX_LABEL = 100


def plain(text: str, limit: int = MAX_LABEL) -> str:
    """Text from outside (file names, links, MusicAPI's reasons) made inert in Discord markdown."""
    text = " ".join(redact_urls(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


def human_size(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:.1f} MB" if mib >= 1 else f"{max(size // 1024, 1)} KB"


def rejection(texts: Texts, exc: SourceRejected) -> str:
    details: dict[str, object] = dict(exc.details)
    if "filename" in details:
        details["filename"] = plain(str(details["filename"]))
    if exc.reason is Rejection.TOO_LARGE:
        details["size"] = human_size(int(str(details["size"])))
        details["limit"] = human_size(int(str(details["limit"])))
    if exc.reason is Rejection.TOO_MANY:
        return texts("message.too_many", **details)
    if "scheme" in details:
        details["scheme"] = plain(str(details["scheme"]), 20)
    if "host" in details:
        details["host"] = plain(str(details["host"]))
    return texts(f"source.{exc.reason.value}", **details)


def success(texts: Texts, clip_id: str, label: str) -> str:
    return texts("upload.success", clip_id=clip_id.replace("`", ""), label=plain(label))


def pending(texts: Texts, label: str) -> str:
    return texts("upload.pending", label=plain(label))


def failure(texts: Texts, kind: ErrorKind, label: str, detail: str = "") -> str:
    """Words for a failed upload; `detail` is MusicAPI's own reason where it gave one."""
    reason = plain(detail, 300) if detail else ""
    key = f"error.{kind.value}"
    if kind in (ErrorKind.BAD_REQUEST, ErrorKind.FAILED) and not reason:
        key += "_no_reason"
    if kind is ErrorKind.FORBIDDEN and not reason:
        reason = "403"
    return texts(key, label=plain(label), reason=reason)


def error(texts: Texts, exc: UploadError, label: str) -> str:
    return failure(texts, exc.kind, label, exc.detail)


def outcome(texts: Texts, record: UploadRecord) -> str:
    """One upload as it stands: its clip_id, its failure, or that MusicAPI is still at work."""
    if record.state == SUCCEEDED and record.clip_id:
        return success(texts, record.clip_id, record.label)
    if record.state == FAILED and record.error_kind == SKIPPED:
        return record.error_detail or texts("error.failed_no_reason", label=plain(record.label))
    if record.state == FAILED:
        return failure(texts, _kind(record.error_kind), record.label, record.error_detail or "")
    return pending(texts, record.label)


def _kind(value: str | None) -> ErrorKind:
    try:
        return ErrorKind(value or ErrorKind.FAILED)
    except ValueError:
        return ErrorKind.FAILED


def outcomes(texts: Texts, records: Sequence[UploadRecord]) -> str:
    """The whole answer to one interaction: one paragraph per file, within Discord's 2000 characters."""
    return _fit("\n\n".join(outcome(texts, r) for r in records))


def _fit(text: str, limit: int = 2000) -> str:
    """Discord refuses messages over 2000 characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


HISTORY_PAGE = 10


def history(texts: Texts, records: Sequence[UploadRecord], page: int) -> str:
    """One page of a member's uploads, newest first."""
    if not records and page == 0:
        return texts("history.empty")
    rows = [
        texts(
            "history.row",
            clip=f"`{r.clip_id.replace('`', '')}`" if r.clip_id else texts("history.no_clip"),
            label=plain(r.label, 60),
            state=texts(f"history.state.{r.state}"),
            when=f"<t:{int(r.created_at)}:R>",
        )
        for r in records
    ]
    return _fit("\n".join([texts("history.title", page=page + 1), *rows]))
