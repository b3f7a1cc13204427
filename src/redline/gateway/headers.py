"""Reading who is calling and what they declare from request headers.

The API key comes from ``Authorization: Bearer …`` (OpenAI SDK) or ``x-api-key``
(Anthropic SDK). Declared attributes come from ``X-Redline-Purpose``,
``X-Redline-Legal-Authority``, ``X-Redline-Classification``, ``X-Redline-Subject``
and ``X-Redline-Label-<name>`` (label names are lower-cased, ``-`` becomes ``_``).
They are merged *under* the key's fixed attributes: a header can add an
attribute the key leaves open, never change one the key fixes.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..facts import Attributes

_KNOWN = {
    "x-redline-purpose": "purpose",
    "x-redline-legal-authority": "legal_authority",
    "x-redline-classification": "classification",
    "x-redline-subject": "subject",
}
_LABEL = "x-redline-label-"
_MAX_VALUE = 512


def api_key_from(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def request_attributes(headers: Mapping[str, str]) -> Attributes:
    """The attributes a request declares in its headers (empty values are ignored)."""
    known: dict[str, str] = {}
    labels: dict[str, str] = {}
    for name, value in headers.items():
        lname = name.lower()
        if not lname.startswith("x-redline-"):
            continue
        value = value.strip()[:_MAX_VALUE]
        if not value:
            continue
        if lname in _KNOWN:
            known[_KNOWN[lname]] = value
        elif lname.startswith(_LABEL) and len(lname) > len(_LABEL):
            labels[lname[len(_LABEL) :].replace("-", "_")] = value
    if not known and not labels:
        return _EMPTY
    return Attributes(**known, labels=labels)


_EMPTY = Attributes()
