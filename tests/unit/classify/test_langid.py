from __future__ import annotations

import pytest

from redline.classify.langid import LANGUAGES, UNKNOWN, identify


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
