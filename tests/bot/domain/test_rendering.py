"""bot.replies: every outcome and failure becomes safe, readable English."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain import errors
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
from bot.domain.links import MAX_URL_LENGTH
from bot.domain.records import SourceKind, UploadRecord, UploadState
from bot.domain.rendering import (
    MENTION_BREAKER,
    credits_report,
    error,
    failure,
    follow_up,
    follow_up_failure,
    human_size,
    low_credits,
    outcome,
    outcomes,
    plain,
    refusal,
    refusal_of,
    success,
    with_day_total,
)
from bot.domain.sources import Rejection, SourceRejected
from bot.domain.texts import CATALOGS, Texts
from bot.domain.texts.en import MESSAGES

TEXTS = Texts("en-US")
LABEL = "example.com/song.mp3"
CLIP = "cfbc3d3c-2add-4265-bcdf-924092096e3d"

ERROR_CLASS_NAMES = sorted(
    {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, Exception)}
    | {"Exception", "ValueError", "TimeoutError", "ClientError", "ServerDisconnectedError", "SourceRejected"}
)


def _upload_error_classes() -> dict[ErrorKind, type[UploadError]]:
    found: dict[ErrorKind, type[UploadError]] = {}
    for obj in vars(errors).values():
        if isinstance(obj, type) and issubclass(obj, UploadError) and obj.__subclasses__() == []:
            found.setdefault(obj.kind, obj)
    return found


ERROR_CLASSES = _upload_error_classes()


def assert_readable(text: str) -> None:
    assert text.strip(), "empty reply"
    assert text == text.strip()
    first = text.lstrip("✅⏳ ")
    if not first.startswith("**"):  # a sentence may open with the (escaped, bold) file name
        assert first[0].isupper(), text
    assert text[-1] in ".!?", text
    assert "{" not in text and "}" not in text, text  # no unfilled placeholders
    assert "Traceback" not in text
    assert not re.search(r"https?://\S*\?", text), text
    for name in ERROR_CLASS_NAMES:
        assert name not in text, f"{name} in {text!r}"
    assert "None" not in text


# ---------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------


def test_every_error_kind_has_an_exception_class() -> None:
    assert set(ERROR_CLASSES) == set(ErrorKind)


@pytest.mark.parametrize("kind", list(ErrorKind))
@pytest.mark.parametrize(
    "detail",
    [
        "",
        "Audio duration must be at least 6 seconds.",
        "Could not fetch https://bucket.s3.amazonaws.com/a.mp3?X-Amz-Signature=secret123 (HTTP 403).",
    ],
)
def test_failure_for_every_kind_is_a_sentence(kind: ErrorKind, detail: str) -> None:
    text = failure(TEXTS, kind, LABEL, detail)
    assert_readable(text)
    assert "secret123" not in text
    assert "X-Amz" not in text


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_error_from_exception_is_a_sentence(kind: ErrorKind) -> None:
    exc = ERROR_CLASSES[kind]("Fetching https://x.example/a.mp3?token=s3cr3t failed (HTTP 404).")
    text = error(TEXTS, exc, LABEL)
    assert_readable(text)
    assert "s3cr3t" not in text


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (errors.ServiceUnavailable("HTTP 502", transient=True), MESSAGES["error.unavailable"]),
        (errors.ServiceUnavailable("ClientConnectorError"), MESSAGES["error.unavailable"]),
        (errors.RateLimited(""), MESSAGES["error.rate_limited"]),
        (errors.Unauthorized("Invalid authorization format."), MESSAGES["error.unauthorized"]),
        (errors.OutOfCredits("The remaining credits are not enough."), MESSAGES["error.no_credits"]),
        (errors.NoSubscription("no sub"), MESSAGES["error.no_subscription"]),
        (errors.ShuttingDown(), MESSAGES["error.shutdown"]),
    ],
)
def test_errors_without_reason_use_fixed_text(exc: UploadError, expected: str) -> None:
    assert error(TEXTS, exc, LABEL) == expected


def test_bad_request_shows_musicapi_reason() -> None:
    text = error(TEXTS, errors.BadRequest("Audio duration must be at least 6 seconds."), LABEL)
    assert (
        text == "MusicAPI couldn't take **example.com/song.mp3**: Audio duration must be at least 6 seconds."
    )


def test_bad_request_without_reason_has_advice() -> None:
    text = error(TEXTS, errors.BadRequest(""), LABEL)
    assert text == MESSAGES["error.bad_request_no_reason"].format(label=LABEL)
    assert "6 seconds and 8 minutes" in text


def test_failed_with_and_without_reason() -> None:
    assert error(TEXTS, errors.TaskFailed("Unsupported format."), LABEL).endswith(": Unsupported format.")
    assert "Check that the file plays" in error(TEXTS, errors.TaskFailed(""), LABEL)


def test_forbidden_without_reason_shows_status() -> None:
    assert "(403)" in error(TEXTS, errors.Forbidden(""), LABEL)
    assert "(Account suspended.)" in error(TEXTS, errors.Forbidden("Account suspended."), LABEL)


def test_reason_is_markdown_escaped_and_capped() -> None:
    text = failure(TEXTS, ErrorKind.BAD_REQUEST, LABEL, "**bold** @everyone " + "x" * 1000)
    assert "**bold**" not in text
    assert "\\*\\*bold\\*\\*" in text
    assert "@everyone" not in text
    assert len(text) < 500


def test_label_is_escaped_in_failure() -> None:
    text = failure(TEXTS, ErrorKind.TIMED_OUT, "my_song*final*.mp3")
    assert "**my\\_song\\*final\\*.mp3**" in text


# ---------------------------------------------------------------------------------------------
# plain()
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("song.mp3", "song.mp3"),
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("__init__.mp3", "\\_\\_init\\_\\_.mp3"),
        ("~~gone~~", "\\~\\~gone\\~\\~"),
        ("`code`", "\\`code\\`"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("> quote", "\\> quote"),
        ("[click](http://evil.example)", "\\[click\\](http\\://evil.example)"),
        ("back\\slash", "back\\\\slash"),
        ("<:emoji:123>", "\\<\\:emoji\\:123\\>"),
    ],
)
def test_plain_escapes_markdown(raw: str, expected: str) -> None:
    assert plain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["@everyone", "@here", "<@123456789012345678>", "<@&987654321098765432>", "a@b"]
)
def test_plain_neutralizes_mentions(raw: str) -> None:
    out = plain(raw)
    assert re.search(r"@(?!\u200b)", out) is None
    assert "@\u200b" in out


def test_plain_collapses_whitespace() -> None:
    assert plain("  a \n\n b\t c  ") == "a b c"


def test_plain_truncates() -> None:
    out = plain("a" * 500, limit=100)
    assert out == "a" * 99 + "…"
    assert plain("a" * 100, limit=100) == "a" * 100


def test_plain_redacts_url_queries() -> None:
    out = plain("see https://x.example/a.mp3?sig=secret#frag and more")
    assert "secret" not in out
    assert "frag" not in out
    assert "x.example/a.mp3" in out


#: Characters that reorder or hide text; named in the hardening brief, each of Unicode category Cf.
FORMAT_CHARS = [
    *map(chr, range(0x202A, 0x202F)),  # LRE RLE PDF LRO RLO
    *map(chr, range(0x2066, 0x206A)),  # LRI RLI FSI PDI
    *map(chr, range(0x200B, 0x2010)),  # ZWSP ZWNJ ZWJ LRM RLM
    *map(chr, range(0x2060, 0x2065)),  # word joiner, invisible operators
    "\ufeff", "\u061c", "\u180e", "\u00ad", "\U000e0001", "\U000e0041",
]  # fmt: skip


def format_chars_left(out: str) -> list[str]:
    """Format characters in `out`, apart from the mention breaker right after an "@"."""
    return [c for c in out.replace("@" + MENTION_BREAKER, "@") if unicodedata.category(c) == "Cf"]


@pytest.mark.parametrize("char", FORMAT_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_plain_drops_format_characters(char: str) -> None:
    assert unicodedata.category(char) == "Cf"
    assert plain(f"song{char}.mp3") == "song.mp3"
    assert plain(f"{char}{char}a {char} b{char}") == "a b"


def test_plain_drops_a_right_to_left_override_that_would_disguise_the_extension() -> None:
    assert plain("invoice\u202egnp.mp3") == "invoicegnp.mp3"
    assert plain("\u2067evil\u2069 take.wav") == "evil take.wav"


def test_plain_keeps_mentions_broken_when_format_characters_hide_them() -> None:
    for raw in ["\u200b@everyone", "@\u200beveryone", "@\u2060here", "<@\u200d123456789012345678>"]:
        out = plain(raw)
        assert re.search(r"@(?!\u200b)", out) is None
        assert out.count(MENTION_BREAKER) == out.count("@") == 1
        assert not format_chars_left(out)


def test_plain_redacts_a_query_that_format_characters_would_hide() -> None:
    out = plain("ht\u200btps://x.example/a.mp3?sig=secret")
    assert "secret" not in out and "x.example/a.mp3" in out


def test_plain_keeps_scripts_that_are_not_format_characters() -> None:
    assert plain("مرحبا שלום 日本語 ü") == "مرحبا שלום 日本語 ü"


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from([*FORMAT_CHARS, "@"]), max_size=300))
@example("\u202e@\u200beveryone\u202c")
@example("@" * 150)
def test_plain_leaves_no_format_character_but_the_mention_breaker(raw: str) -> None:
    out = plain(raw)
    assert not format_chars_left(out)
    assert re.search(r"@(?!\u200b)", out) is None
    assert re.search(r"(?<!@)\u200b", out) is None


# ---------------------------------------------------------------------------------------------
# refusal()
# ---------------------------------------------------------------------------------------------

REJECTIONS = {
    Rejection.NO_SOURCE: (SourceRejected(Rejection.NO_SOURCE), ["file", "url"]),
    Rejection.BOTH_SOURCES: (SourceRejected(Rejection.BOTH_SOURCES), ["not both"]),
    Rejection.TOO_MANY: (
        SourceRejected(Rejection.TOO_MANY, filename="sixth_take.mp3", limit=5),
        ["**sixth\\_take.mp3**", "at most 5 files"],
    ),
    Rejection.NOT_AUDIO: (
        SourceRejected(Rejection.NOT_AUDIO, filename="notes_v2*.txt"),
        ["**notes\\_v2\\*.txt**"],
    ),
    Rejection.TOO_LARGE: (
        SourceRejected(
            Rejection.TOO_LARGE, filename="big.wav", size=150 * 1024 * 1024, limit=100 * 1024 * 1024
        ),
        ["**big.wav**", "150.0 MB", "100.0 MB"],
    ),
    Rejection.EMPTY_FILE: (
        SourceRejected(Rejection.EMPTY_FILE, filename="@everyone.mp3"),
        ["@\u200beveryone.mp3"],
    ),
    Rejection.BAD_SCHEME: (SourceRejected(Rejection.BAD_SCHEME, scheme="ftp"), ["`ftp:`"]),
    Rejection.MALFORMED: (SourceRejected(Rejection.MALFORMED), ["https://"]),
    Rejection.TOO_LONG: (SourceRejected(Rejection.TOO_LONG, limit=MAX_URL_LENGTH), ["2048 characters"]),
    Rejection.WHITESPACE: (SourceRejected(Rejection.WHITESPACE), ["spaces"]),
    Rejection.CREDENTIALS: (SourceRejected(Rejection.CREDENTIALS), ["password"]),
    Rejection.PRIVATE_HOST: (SourceRejected(Rejection.PRIVATE_HOST), ["private or local"]),
    Rejection.STREAMING_PAGE: (
        SourceRejected(Rejection.STREAMING_PAGE, host="www.youtube.com"),
        ["**www.youtube.com**"],
    ),
    Rejection.DISCORD_PAGE: (SourceRejected(Rejection.DISCORD_PAGE), ["Discord"]),
}


def test_rejection_table_covers_every_reason() -> None:
    assert set(REJECTIONS) == set(Rejection)


@pytest.mark.parametrize("reason", list(Rejection))
def test_rejection_renders_with_details(reason: Rejection) -> None:
    exc, fragments = REJECTIONS[reason]
    text = refusal(TEXTS, exc)
    assert_readable(text)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_rejection_caps_scheme_and_escapes_host() -> None:
    text = refusal(TEXTS, SourceRejected(Rejection.BAD_SCHEME, scheme="a" * 50))
    assert "`" + "a" * 19 + "…:`" in text
    host = refusal(TEXTS, SourceRejected(Rejection.STREAMING_PAGE, host="**evil**"))
    assert host.startswith("**\\*\\*evil\\*\\***")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, "1 KB"),
        (1023, "1 KB"),
        (2048, "2 KB"),
        (1024 * 1024, "1.0 MB"),
        (int(2.5 * 1024 * 1024), "2.5 MB"),
    ],
)
def test_human_size(size: int, expected: str) -> None:
    assert human_size(size) == expected


# ---------------------------------------------------------------------------------------------
# outcome() / outcomes()
# ---------------------------------------------------------------------------------------------


def record(label: str = LABEL, **fields: object) -> UploadRecord:
    values: dict[str, object] = {"source_kind": SourceKind.FILE} | fields
    return UploadRecord(
        interaction_id=1,
        application_id=2,
        interaction_token="tok",
        token_expires_at=0.0,
        user_id=3,
        guild_id=None,
        channel_id=None,
        locale="en-US",
        label=label,
        **values,  # type: ignore[arg-type]
    )


def test_outcome_success() -> None:
    text = outcome(TEXTS, record(state=UploadState.SUCCEEDED, clip_id=CLIP))
    assert text == success(TEXTS, CLIP, LABEL)
    assert f"`{CLIP}`" in text
    assert "**example.com/song.mp3**" in text


def test_success_strips_backticks_from_clip_id() -> None:
    assert "`abc`" in success(TEXTS, "a`b`c", LABEL)


def test_outcome_pending() -> None:
    text = outcome(TEXTS, record(state=UploadState.PENDING))
    assert text.startswith("⏳")
    assert "**example.com/song.mp3**" in text


def test_outcome_succeeded_without_clip_id_is_not_success() -> None:
    assert "clip_id:" not in outcome(TEXTS, record(state=UploadState.SUCCEEDED, clip_id=None))


def test_outcome_failed_uses_kind_and_detail() -> None:
    text = outcome(
        TEXTS, record(state=UploadState.FAILED, error_kind=ErrorKind.BAD_REQUEST, error_detail="Too short.")
    )
    assert text == "MusicAPI couldn't take **example.com/song.mp3**: Too short."
    assert (
        outcome(TEXTS, record(state=UploadState.FAILED, error_kind=ErrorKind.NO_CREDITS))
        == MESSAGES["error.no_credits"]
    )


def test_outcome_failed_without_kind_falls_back_to_failed() -> None:
    text = outcome(TEXTS, record(state=UploadState.FAILED, error_kind=None))
    assert text == failure(TEXTS, ErrorKind.FAILED, LABEL)
    assert_readable(text)


def test_outcomes_joins_paragraphs() -> None:
    records = [record(state=UploadState.SUCCEEDED, clip_id=CLIP), record("b.wav", state=UploadState.PENDING)]
    text = outcomes(TEXTS, records)
    assert text.split("\n\n")[0] == success(TEXTS, CLIP, LABEL)
    assert text.endswith(outcome(TEXTS, records[1]))


@pytest.mark.parametrize("count", [1, 5, 10, 25])
def test_outcomes_within_discord_limit(count: int) -> None:
    long_label = "x_" * 200
    long_detail = "reason " * 200
    records = []
    for i in range(count):
        if i % 3 == 0:
            records.append(record(long_label, state=UploadState.SUCCEEDED, clip_id=CLIP))
        elif i % 3 == 1:
            records.append(
                record(
                    long_label,
                    state=UploadState.FAILED,
                    error_kind=ErrorKind.BAD_REQUEST,
                    error_detail=long_detail,
                )
            )
        else:
            records.append(record(long_label, state=UploadState.PENDING))
    text = outcomes(TEXTS, records)
    assert 0 < len(text) <= 2000
    if count >= 10:
        assert text.endswith("…")


def test_an_answer_points_to_the_message_its_files_came_from() -> None:
    source = "https://discord.com/channels/@me/2/3"
    text = outcomes(TEXTS, [record(source_message=source), record(source_message=source)])
    assert text.startswith(f"↪️ From this message: {source}\n\n") and text.count(source) == 1


@pytest.mark.parametrize(
    "kept", ["https://evil.example/channels/1/2/3", "https://discord.com/channels/1/2/3 @everyone", ""]
)
def test_only_a_discord_message_link_is_shown_as_the_source(kept: str) -> None:
    assert "From this message" not in outcomes(TEXTS, [record(source_message=kept)])


@pytest.mark.parametrize("locale", sorted(CATALOGS))
@pytest.mark.parametrize("reason", ["Failed to generate midi.", ""])
def test_a_failed_synchronous_call_names_its_operation_and_promises_no_refund(
    locale: str, reason: str
) -> None:
    """WAV, MIDI and BPM answer at once; MusicAPI documents refunds for failed tasks only, so their failure
    is not worded as a failed generation that was refunded (which every task-based operation keeps)."""
    texts = Texts(locale)
    generation = follow_up_failure(texts, ErrorKind.FAILED, "Night Drive", reason, Operation.EXTEND)
    assert generation == follow_up_failure(texts, ErrorKind.FAILED, "Night Drive", reason)
    refund_key = "followup.error.failed" if reason else "followup.error.failed_no_reason"
    expected = texts(refund_key, label="Night Drive", reason=reason)
    assert generation == expected.replace("midi..", "midi.").replace("midi.。", "midi。")  # one stop
    for operation in (Operation.WAV, Operation.MIDI, Operation.BPM):
        text = follow_up_failure(texts, ErrorKind.FAILED, "Night Drive", reason, operation)
        assert texts(f"followup.button.{operation.value}") in text and "Night Drive" in text
        assert (reason.rstrip(".") in text) and text != generation
        assert SPENT[locale] in text, "it says plainly that the credits count as spent, and why"
    english = follow_up_failure(Texts("en-US"), ErrorKind.FAILED, "Night Drive", reason, Operation.MIDI)
    assert "no credits were spent" not in english and "refunds failed" not in english


#: How each language says a failed synchronous call's credits count as spent, and why (what MusicAPI
#: promises: refunds of failed generations only; of these calls it says nothing).
SPENT = {
    "en-US": "The bot counts its credits as spent, since MusicAPI promises refunds only for failed generations",
    "de": "Der Bot zählt die Credits als verbraucht, da MusicAPI Erstattungen nur für fehlgeschlagene Generierungen zusagt",
    "es-ES": "El bot cuenta sus créditos como gastados, porque MusicAPI solo promete reembolsos por generaciones fallidas",
    "fr": "Le bot compte ses crédits comme dépensés, car MusicAPI ne promet de remboursement que pour les générations échouées",
    "pt-BR": "O bot conta os créditos como gastos, pois a MusicAPI só promete reembolso para gerações que falham",
    "ja": "MusicAPI が返金を約束しているのは失敗した生成だけなので、ボットはこのクレジットを消費済みとして数えます",
}


def songs_result(count: int, action: Operation = Operation.EXTEND, locale: str = "en-US") -> FollowUpRecord:
    return FollowUpRecord(
        user_id=7, guild_id=None, channel_id=None, application_id=1, interaction_id=1, interaction_token="t",
        token_expires_at=0, locale=locale, action=action, origin=ClipOrigin.UPLOAD, source_id=1,
        source_clip_id="c", source_label="Night Drive", task_type="", model="sonic-v6",
        state=FollowUpState.SUCCEEDED,
        songs=[Song(clip_id=f"s{n}", id=n + 1, position=n, title=f"Song {n}") for n in range(count)],
    )  # fmt: skip


#: Each language's "1 new song" (Japanese counts alike for one and for more).
ONE_SONG = {
    "en-US": "1 new song.", "de": "1 neuer Song.", "es-ES": "1 canción nueva.", "fr": "1 nouveau morceau.",
    "pt-BR": "1 música nova.", "ja": "新しい曲 1 曲。",
}  # fmt: skip
ONE_FILE = {
    "en-US": "1 file.", "de": "1 Datei.", "es-ES": "1 archivo.", "fr": "1 fichier.", "pt-BR": "1 arquivo.",
    "ja": "1 ファイル。",
}  # fmt: skip


@pytest.mark.parametrize("locale", sorted(CATALOGS))
@pytest.mark.parametrize("action", [op for op, spec in CATALOG.items() if spec.result is ResultKind.SONGS])
def test_one_new_song_reads_singular_and_two_plural(locale: str, action: Operation) -> None:
    texts = Texts(locale)
    one = follow_up(texts, songs_result(1, action, locale)).split("\n")[0]
    two = follow_up(texts, songs_result(2, action, locale)).split("\n")[0]
    assert one.endswith(ONE_SONG[locale]), one
    assert two.endswith(texts.plural("count.new_songs", 2) + ("。" if locale == "ja" else "."))
    assert (one.replace("1", "2") == two) is (locale == "ja"), "singular and plural differ, but in Japanese"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_one_stem_reads_singular(locale: str) -> None:
    text = follow_up(Texts(locale), songs_result(1, Operation.STEMS, locale))
    assert text.split("\n")[0].endswith(ONE_FILE[locale])


@pytest.mark.parametrize(("locale", "zero"), [("en-US", "0 new songs"), ("fr", "0 nouveau morceau"),
                                              ("pt-BR", "0 música nova"), ("de", "0 neue Songs")])  # fmt: skip
def test_zero_takes_each_languages_own_form(locale: str, zero: str) -> None:
    assert Texts(locale).plural("count.new_songs", 0) == zero


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_songs_point_to_their_menu_only_when_they_have_one(locale: str) -> None:
    texts = Texts(locale)
    with_menu = follow_up(texts, songs_result(2, locale=locale), menu=True)
    without = follow_up(texts, songs_result(2, locale=locale))
    assert with_menu == without + "\n\n" + texts("followup.hint")
    assert texts("followup.hint") not in without


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_texts_that_point_to_a_menu_name_no_operation(locale: str) -> None:
    """FOLLOW_UPS chooses the operations: the texts that point to the menu name none of them, so none
    tells a member to press a button that is not there."""
    texts = Texts(locale)
    pointing = [
        success(texts, CLIP, LABEL, follow_ups=True),
        texts("followup.hint"),
        texts("followup.no_clip"),
    ]
    for op in Operation:
        name = texts(f"followup.button.{op.value}")
        for text in pointing:
            assert name.lower() not in text.lower(), (name, text)


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_a_file_musicapi_refused_without_a_reason_is_not_called_a_link(locale: str) -> None:
    texts = Texts(locale)
    failed = {"state": UploadState.FAILED, "error_kind": ErrorKind.BAD_REQUEST}
    of_file = outcome(texts, record(source_kind=SourceKind.FILE, **failed))
    of_link = outcome(texts, record(source_kind=SourceKind.LINK, **failed))
    assert of_file == texts("error.bad_request_no_reason_file", label=LABEL)
    assert of_link == texts("error.bad_request_no_reason", label=LABEL)
    assert of_file != of_link
    if locale == "en-US":
        assert "link" in of_link and "link" not in of_file
        assert_readable(of_file)


@pytest.mark.parametrize("locale", sorted(CATALOGS))
@pytest.mark.parametrize("operation", [None, Operation.MIDI])
def test_a_reason_that_ends_a_sentence_is_followed_by_one_full_stop(
    locale: str, operation: Operation | None
) -> None:
    texts = Texts(locale)
    with_stop = follow_up_failure(texts, ErrorKind.FAILED, LABEL, "Failed to generate midi.", operation)
    without = follow_up_failure(texts, ErrorKind.FAILED, LABEL, "Failed to generate midi", operation)
    assert "midi.." not in with_stop and "midi.。" not in with_stop
    assert with_stop == without  # the text puts its own full stop after the reason, in every language


def test_a_reason_whose_full_stop_the_text_does_not_repeat_keeps_it() -> None:
    text = error(TEXTS, errors.BadRequest("Audio duration must be at least 6 seconds."), LABEL)
    assert text.endswith("at least 6 seconds.")


# ---------------------------------------------------------------------------------------------
# credits, counted
# ---------------------------------------------------------------------------------------------

#: Each language's "1 credit" and "2 credits" (Japanese counts alike for one and for more).
ONE_CREDIT = {
    "en-US": "1 credit", "de": "1 Credit", "es-ES": "1 crédito", "fr": "1 crédit", "pt-BR": "1 crédito",
    "ja": "1 クレジット",
}  # fmt: skip
TWO_CREDITS = {
    "en-US": "2 credits", "de": "2 Credits", "es-ES": "2 créditos", "fr": "2 crédits", "pt-BR": "2 créditos",
    "ja": "2 クレジット",
}  # fmt: skip


def says_one_credit(text: str, locale: str) -> bool:
    """`text` counts one credit in the singular: "1 credit", never "1 credits"."""
    wrong = TWO_CREDITS[locale].replace("2", "1")
    return ONE_CREDIT[locale] in text and (locale == "ja" or wrong not in text)


def working(action: Operation, credits: int, locale: str) -> FollowUpRecord:
    return FollowUpRecord(
        user_id=7, guild_id=None, channel_id=None, application_id=1, interaction_id=1, interaction_token="t",
        token_expires_at=0, locale=locale, action=action, origin=ClipOrigin.SONG, source_id=1,
        source_clip_id="c", source_label="Night Drive", task_type="", model="sonic-v6", credits=credits,
    )  # fmt: skip


@pytest.mark.parametrize("locale", sorted(CATALOGS))
@pytest.mark.parametrize("action", list(Operation))
def test_a_working_line_counts_its_credits_in_the_languages_singular_and_plural(
    locale: str, action: Operation
) -> None:
    texts = Texts(locale)
    opening, closing = ("（", "）") if locale == "ja" else ("(", ")")
    one = follow_up(texts, working(action, 1, locale))
    two = follow_up(texts, working(action, 2, locale))
    assert f"{opening}{ONE_CREDIT[locale]}{closing}" in one and says_one_credit(one, locale), one
    assert f"{opening}{TWO_CREDITS[locale]}{closing}" in two, two
    assert (one.replace("1", "2") == two) is (locale == "ja"), "singular and plural differ, but in Japanese"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_the_low_credits_alert_counts_what_is_left_and_what_a_follow_up_costs(locale: str) -> None:
    texts = Texts(locale)
    one = low_credits(texts, Credits(1), 80, "1")
    assert one.count(ONE_CREDIT[locale]) == 2 and says_one_credit(one, locale), one
    two = low_credits(texts, Credits(2), 80, "2")
    assert two.count(TWO_CREDITS[locale]) == 2, two
    spread = low_credits(texts, Credits(2), 80, "1–30")
    assert TWO_CREDITS[locale].replace("2", "1–30") in spread, "a range of prices is counted as many"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_the_owners_report_counts_each_servers_spend(locale: str) -> None:
    texts = Texts(locale)
    report = credits_report(
        texts, Credits(500), "", {0: 1, 5: 2}, {5: "Studio"}, budget=150, threshold=100, cost="1–30"
    )
    dms, studio = [line for line in report.split("\n") if line.startswith("• ")]
    assert dms.endswith(f" {ONE_CREDIT[locale]}") and says_one_credit(dms, locale), dms
    assert studio.startswith("• Studio") and studio.endswith(f" {TWO_CREDITS[locale]}"), studio


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_the_whole_bots_day_counts_its_limit(locale: str) -> None:
    texts = Texts(locale)
    one = with_day_total(texts, "", 0, 1)
    assert says_one_credit(one, locale), one
    assert TWO_CREDITS[locale] in with_day_total(texts, "", 0, 2)
    unlimited = with_day_total(texts, "", 2, 0)
    assert TWO_CREDITS[locale] in unlimited and texts("owner.no_limit") in unlimited, unlimited


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_a_budget_of_one_credit_reads_singular(locale: str) -> None:
    texts = Texts(locale)
    one = refusal_of(texts, Allowance(Refusal.OVER_BUDGET, 1e9, 1, 1), Operation.MIDI)
    two = refusal_of(texts, Allowance(Refusal.OVER_BUDGET, 1e9, 2, 2), Operation.MIDI)
    assert says_one_credit(one, locale), one
    assert TWO_CREDITS[locale] in two, two
