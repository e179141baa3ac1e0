"""Host names shown as they are: a label that is not plain ASCII appears in its `xn--` form."""

from __future__ import annotations

import string

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import rendering
from bot.domain.hosts import shown_host, shown_links
from bot.domain.links import check_link, link_label
from bot.domain.texts import Texts

LOOK_ALIKE = "www.y\u043eutube.com"  # a Cyrillic о in place of the o


def test_a_look_alike_of_youtube_is_shown_in_its_xn_form() -> None:
    assert shown_host(LOOK_ALIKE) == "www.xn--yutube-wqf.com"
    assert link_label(f"https://{LOOK_ALIKE}/watch?v=abc") == "www.xn--yutube-wqf.com/watch"


def test_the_look_alike_link_is_uploaded_under_its_xn_form() -> None:
    source = check_link(f"https://{LOOK_ALIKE}/watch.mp3")
    assert source.label == "www.xn--yutube-wqf.com/watch.mp3"
    assert source.url == f"https://{LOOK_ALIKE}/watch.mp3"  # MusicAPI gets the link as the member gave it
    answer = rendering.success(Texts("en-US"), "cfbc3d3c-2add-4265-bcdf-924092096e3d", source.label)
    assert "xn--yutube-wqf.com" in answer and "\u043e" not in answer


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("example.com", "example.com"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),  # already ASCII: as it is
        ("b\u00fccher.de", "xn--bcher-kva.de"),
        ("B\u00dcCHER.de", "xn--bcher-kva.de"),
        ("stra\u00dfe.de", "xn--strae-oqa.de"),  # as browsers do (not "strasse")
        (
            "\u043f\u0440\u0438\u043c\u0435\u0440\u3002\u0440\u0444",
            "xn--e1afmkfd.xn--p1ai",
        ),  # ideographic dot
        ("a\u200db.com", "xn--ab-m1t.com"),  # a joiner IDNA refuses is still shown, not hidden
    ],
)
def test_hosts_are_shown_in_ascii(host: str, shown: str) -> None:
    assert shown_host(host) == shown


def test_links_in_text_from_outside_show_their_hosts_in_ascii() -> None:
    reason = f"Audio URL is not accessible: https://{LOOK_ALIKE}:8443/a.mp3?sig=secret"
    shown = rendering.plain(reason, 300)
    assert "www.xn--yutube-wqf.com\\:8443/a.mp3" in shown  # markdown-escaped
    assert "secret" not in shown and "\u043e" not in shown
    assert shown_links("plain ascii https://example.com/x") == "plain ascii https://example.com/x"


_LETTERS = st.characters(categories=["L", "M", "N", "Pd", "Cf"])
labels = st.text(_LETTERS, min_size=1, max_size=20)
hosts = st.lists(labels, min_size=1, max_size=4).map(".".join)


@settings(max_examples=300, deadline=None)
@given(hosts)
def test_any_host_is_shown_in_ascii_and_each_non_ascii_label_as_xn(host: str) -> None:
    shown = shown_host(host)
    assert shown.isascii()
    if host.isascii():
        assert shown == host
    for label in shown.split("."):
        if label.startswith("xn--") and not host.lower().count("xn--"):
            # an xn-- label stands for a label that would not read as plain ASCII
            assert not label[4:].encode("ascii").decode("punycode").isascii()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=10), min_size=2, max_size=4), st.data())
def test_a_look_alike_never_shows_as_the_host_it_mimics(parts: list[str], data: st.DataObject) -> None:
    """Swapping one letter for a look-alike from another script always shows a different host, in ASCII."""
    real = ".".join(parts)
    where = data.draw(st.integers(0, len(real) - 1).filter(lambda i: real[i] != "."))
    fake_letter = data.draw(st.sampled_from("\u043e\u0430\u0435\u0440\u0441\u0445\u0443\u0456\u03bf\u0251"))
    look_alike = real[:where] + fake_letter + real[where + 1 :]
    shown = shown_host(look_alike)
    assert shown.isascii() and shown != real
    # what is shown names the host the link goes to
    assert idna.decode(shown) == idna.uts46_remap(look_alike, std3_rules=False, transitional=False)
