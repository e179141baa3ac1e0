"""Grants for follow-ups on someone else's clip: bound to the member, the clip, the action and the bot's
token, and good for a limited time."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain.followups.grants import GRANT_LIFETIME, Grants
from bot.domain.followups.records import ClipOrigin, Operation

EXTEND, COVER = Operation.EXTEND, Operation.COVER
UPLOAD, SONG = ClipOrigin.UPLOAD, ClipOrigin.SONG


BOT_TOKEN = "bot-token"  # made up for the test


def grants(token: str = BOT_TOKEN, now: list[float] | None = None) -> Grants:
    clock = now if now is not None else [1_800_000_000.0]
    return Grants(lambda: token, clock=lambda: clock[0])


def test_a_grant_holds_for_its_member_clip_and_action_until_it_expires() -> None:
    now = [1_800_000_000.0]
    g = grants(now=now)
    grant = g.issue(5, EXTEND, UPLOAD, 12)
    assert g.valid(grant, 5, EXTEND, UPLOAD, 12)
    assert not g.valid(grant, 6, EXTEND, UPLOAD, 12)
    assert not g.valid(grant, 5, COVER, UPLOAD, 12)
    assert not g.valid(grant, 5, EXTEND, SONG, 12)
    assert not g.valid(grant, 5, EXTEND, UPLOAD, 13)
    assert not grants(token="another-bot").valid(grant, 5, EXTEND, UPLOAD, 12)
    now[0] += GRANT_LIFETIME
    assert g.valid(grant, 5, EXTEND, UPLOAD, 12)
    now[0] += 1
    assert not g.valid(grant, 5, EXTEND, UPLOAD, 12)


@given(st.text(max_size=40))
@example("¹.0123456789abcdef")  # a digit to str.isdigit, not to int()
def test_anything_but_a_grant_the_bot_issued_is_refused(made_up: str) -> None:
    assert not grants().valid(made_up, 5, EXTEND, UPLOAD, 12)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_moving_the_expiry_breaks_the_signature(expires: int) -> None:
    g = grants()
    signature = g.issue(5, EXTEND, UPLOAD, 12).split(".")[1]
    forged = f"{expires}.{signature}"
    assert not g.valid(forged, 5, EXTEND, UPLOAD, 12) or forged == g.issue(5, EXTEND, UPLOAD, 12)


def test_an_expired_grant_is_told_apart_from_one_never_given_and_a_grace_stretches_it() -> None:
    now = [1_000_000.0]
    grants = Grants(lambda: "token", clock=lambda: now[0])
    grant = grants.issue(7, Operation.COVER, ClipOrigin.UPLOAD, 42)
    now[0] += GRANT_LIFETIME + 60
    assert not grants.valid(grant, 7, Operation.COVER, ClipOrigin.UPLOAD, 42)
    assert grants.valid(grant, 7, Operation.COVER, ClipOrigin.UPLOAD, 42, grace=GRANT_LIFETIME)
    assert grants.expired(grant, 7, Operation.COVER, ClipOrigin.UPLOAD, 42)
    assert not grants.expired(grant, 8, Operation.COVER, ClipOrigin.UPLOAD, 42)  # not theirs: not "expired"
    assert not grants.expired("123.0123456789abcdef", 7, Operation.COVER, ClipOrigin.UPLOAD, 42)
    now[0] += GRANT_LIFETIME
    assert not grants.valid(grant, 7, Operation.COVER, ClipOrigin.UPLOAD, 42, grace=GRANT_LIFETIME)
