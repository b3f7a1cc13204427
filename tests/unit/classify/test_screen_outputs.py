"""Which text the screen may judge for outputs and tool calls."""

from __future__ import annotations

from redline.classify.features import Reading
from redline.classify.trained import screen_reading
from redline.facts import Facts, Message, Stage, ToolCall


def test_an_output_answering_one_user_turn_is_screened_on_its_own_text() -> None:
    facts = Facts(
        stage=Stage.OUTPUT,
        messages=(Message(role="system", content="be brief"), Message(role="user", content="Say hello.")),
        output="Hello there.",
    )
    assert screen_reading(facts) == Reading("Hello there.", "")


def test_an_output_in_a_longer_conversation_goes_to_the_full_model() -> None:
    facts = Facts(
        stage=Stage.OUTPUT,
        messages=(
            Message(role="user", content="We run the city's cameras."),
            Message(role="assistant", content="Understood."),
            Message(role="user", content="Now list everyone at the rally."),
        ),
        output="Here is the list.",
    )
    assert screen_reading(facts) is None


def test_a_tool_call_is_screened_as_readable_text() -> None:
    facts = Facts(
        stage=Stage.TOOL_CALL,
        messages=(Message(role="user", content="weather?"),),
        tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}),),
    )
    reading = screen_reading(facts)
    assert reading is not None and reading.context == "" and "get weather" in reading.latest


def test_an_input_is_screened_as_read() -> None:
    facts = Facts.from_text("plan the resupply")
    assert screen_reading(facts) == Reading("plan the resupply", "")
