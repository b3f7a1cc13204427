"""Long texts are read in overlapping windows as well as whole."""

from __future__ import annotations

import itertools

from redline.classify.trained import WINDOW_CHARS, WINDOW_WORDS, windows


def test_short_text_has_no_windows() -> None:
    assert windows("plan the resupply of the northern depot") == []
    assert windows(" ".join(["word"] * 2 * WINDOW_WORDS)) == []


def test_windows_cover_a_long_text_from_start_to_end_with_overlap() -> None:
    words = [f"w{i}" for i in range(1000)]
    got = windows(" ".join(words))
    assert all(len(w.split()) == WINDOW_WORDS for w in got)
    assert got[0] == " ".join(words[:WINDOW_WORDS])
    assert got[-1].split()[-1] == "w999"
    assert {tok for w in got for tok in w.split()} == set(words)
    # Consecutive windows overlap, so a request cut by one boundary is whole in a neighbour.
    for a, b in itertools.pairwise(got):
        assert set(a.split()) & set(b.split())


def test_text_without_spaces_is_windowed_by_characters() -> None:
    text = "".join(chr(0x4E00 + (i % 500)) for i in range(2000))
    got = windows(text)
    assert got and all(len(w) == WINDOW_CHARS for w in got)
    assert got[0] == text[:WINDOW_CHARS] and got[-1] == text[-WINDOW_CHARS:]


def test_earlier_user_turns_are_the_user_turns_of_the_context_window() -> None:
    from redline.classify.trained import earlier_user_turns
    from redline.facts import Facts, Message, Stage

    messages = (
        Message(role="system", content="You are helpful."),
        Message(role="user", content="u1"),
        Message(role="assistant", content="a1"),
        Message(role="user", content="u2"),
        Message(role="assistant", content="a2"),
        Message(role="user", content="u3"),
        Message(role="assistant", content="a3"),
        Message(role="user", content="latest"),
    )
    # The four messages before the latest user turn, as the conversation reading keeps them.
    assert earlier_user_turns(Facts(stage=Stage.INPUT, messages=messages)) == ["u2", "u3"]
    assert earlier_user_turns(Facts(stage=Stage.INPUT, messages=messages[-1:])) == []
    assert earlier_user_turns(Facts(stage=Stage.OUTPUT, messages=messages, output="x")) == []
    blank = (Message(role="user", content="  "), Message(role="assistant", content="a"), messages[-1])
    assert earlier_user_turns(Facts(stage=Stage.INPUT, messages=blank)) == []
