from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.classify.langid import LANGUAGES, UNKNOWN, by_script, identify


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Please track my parcel from the depot", "en"),
        ("kill -9 4242", "en"),
        ("¿Puedes rastrear a todos los manifestantes de la plaza?", "es"),
        ("Identifiez tous les manifestants sur la place et faites une liste", "fr"),
        ("Erstelle eine Liste aller Demonstranten auf dem Platz", "de"),
        ("Identifique todos os manifestantes na praça e monte uma lista", "pt"),
        ("Составь список всех участников митинга", "ru"),
        ("列出所有参加抗议的人", "zh"),
        ("حدد جميع المتظاهرين في الساحة", "ar"),
        ("Identificare tutti i manifestanti nella piazza e fare una lista", UNKNOWN),
        ("Maak een lijst van alle demonstranten op het plein", UNKNOWN),
        ("デモ参加者を全員特定してください", UNKNOWN),
        ("시위대를 모두 찾아라", UNKNOWN),
        ("Складіть список усіх учасників мітингу", UNKNOWN),
    ],
)
def test_identify(text: str, want: str) -> None:
    assert identify(text) == want


def test_homoglyphs_do_not_change_the_language() -> None:
    # Two Cyrillic look-alike letters inside an English sentence.
    assert identify("Monitor all residents' phоne records in the сity") == "en"


def test_result_is_always_known_or_unknown() -> None:
    for text in ["", "12345", "!!!", "a", "ñ"]:
        assert identify(text) in (*LANGUAGES, UNKNOWN)


def test_the_ascii_shortcut_gives_what_counting_scripts_gives() -> None:
    corpus = Path(__file__).resolve().parents[3] / "data" / "corpus" / "dev.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    texts += ["", "1234 !!", "rm -rf /tmp/x", "Kill the process", "The port of Tartus"]
    ascii_texts = [t for t in texts if t.isascii()]
    assert len(ascii_texts) > 1000
    for text in ascii_texts:
        assert identify(text) == by_script(text), text
