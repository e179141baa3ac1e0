"""The upload record: one source of one interaction, as the store keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from bot.domain.errors import ErrorKind

#: Discord keeps an interaction token valid for 15 minutes.
TOKEN_LIFETIME = 15 * 60
#: What the store keeps in place of an interaction token it has erased (expired, or its answer was shown).
ERASED_TOKEN = ""


class UploadState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SourceKind(StrEnum):
    FILE = "file"
    LINK = "link"


#: The parameters of a skip reason (file name, size, limit...): plain JSON values, rendered when shown.
SkipParams = dict[str, str | int]


class Requester(NamedTuple):
    """Who asked for an upload, and what it takes to answer them later. (A tuple: made for every
    interaction, where a frozen dataclass sets its ten fields one by one in Python.)"""

    interaction_id: int
    application_id: int
    token: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str
    token_expires_at: float
    #: What Discord takes per file where the interaction was (its `attachment_size_limit`), when it said.
    attachment_limit: int | None = None
    #: The Discord message the files come from (its link), for an upload from a message or a message link.
    source_message: str | None = None


@dataclass(slots=True)
class UploadRecord:
    """One source of one interaction. Several records share an interaction when a message had several files.

    A file of a message that was never sent is stored FAILED with its reason code in `skip_reason` and
    that reason's parameters in `skip_params`; the sentence is made when it is shown, in the reader's
    language.

    `interaction_token` is ERASED_TOKEN once the token expired or the answer was shown, and
    `callback_token` None once the upload finished: the store keeps no secret longer than it is needed.
    """

    interaction_id: int
    application_id: int
    interaction_token: str
    token_expires_at: float
    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str
    source_kind: SourceKind
    label: str
    position: int = 0
    batch_size: int = 1
    state: UploadState = UploadState.PENDING
    clip_id: str | None = None
    task_id: str | None = None
    error_kind: ErrorKind | None = None
    error_detail: str | None = None
    skip_reason: str | None = None
    skip_params: SkipParams = field(default_factory=dict)
    callback_token: str | None = None
    delivered: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    #: The bot instance that sends it (its name; see `bot.domain.instances`).
    instance: str = ""
    #: The Discord message its file came from (its link), so that the answer points to it.
    source_message: str | None = None
    id: int | None = None

    @property
    def key(self) -> int:
        """The row id; only records that came out of the store have one."""
        if self.id is None:
            raise ValueError("this upload record was never stored")
        return self.id

    @property
    def finished(self) -> bool:
        return self.state is not UploadState.PENDING


class PendingBrief(NamedTuple):
    """What the watcher reads of every pending upload each round: enough to tell whether it has anything
    to do with it. (Whole records, for every upload in flight every few seconds, cost a sync upload
    more than its own writes.)"""

    key: int
    instance: str
    task_id: str | None
    callback_token: str | None
    created_at: float
