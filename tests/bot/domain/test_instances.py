"""Several instances on one store: each one's share of the deployment's requests to MusicAPI, and what it
learns from its heartbeat."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.instances import Presence, share
from bot.storage.sqlite import SQLiteUploadStore


@given(
    st.integers(min_value=1, max_value=500),
    st.sets(st.text(min_size=1, max_size=8), min_size=1, max_size=30),
)
def test_the_shares_of_live_instances_add_up_to_the_deployments_concurrency(
    concurrency: int, names: set[str]
) -> None:
    live = sorted(names)
    parts = [share(concurrency, live, name) for name in live]
    assert all(part >= 1 for part in parts)
    if concurrency >= len(live):
        assert sum(parts) == concurrency
        assert max(parts) - min(parts) <= 1  # as equal as whole numbers allow
    else:
        assert sum(parts) == len(live)  # one each: fewer than that and some could send nothing


def test_an_instance_that_is_not_listed_yet_counts_itself() -> None:
    assert share(10, [], "a") == 10
    assert share(10, ["b"], "a") + share(10, ["a", "b"], "b") == 10


async def test_a_heartbeat_shows_the_others_and_hands_the_line_its_share(tmp_path) -> None:
    store = await SQLiteUploadStore.open(tmp_path / "log.db")
    now = [1000.0]
    shares: list[int] = []
    try:
        a = Presence(
            store=store, name="a", timeout=30, concurrency=9, on_share=shares.append, clock=lambda: now[0]
        )
        b = Presence(
            store=store, name="b", timeout=30, concurrency=9, on_share=shares.append, clock=lambda: now[0]
        )
        await a.beat()
        assert (a.others, shares) == ([], [])
        await b.beat()
        await a.beat()
        assert a.others == ["b"] and b.others == ["a"] and a.alive("b")
        assert shares == [4, 5]  # b's share, then a's (a is first by name: it takes the remainder)
        now[0] += 31  # b stops beating
        await a.beat()
        assert a.others == [] and not a.alive("b") and shares[-1] == 9
        await b.beat()
        await b.stop()  # a clean stop leaves at once
        await a.beat()
        assert a.others == []
    finally:
        await store.close()
