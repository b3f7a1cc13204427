"""JSON log lines for the gateway (one object per line).

The gateway logs one ``request`` record per request on the ``redline.gateway``
logger, with the fields under ``record.redline`` (wire, tenant, app, model,
upstream, status, decision_ids, total_ms, upstream_ms, code). ``JsonFormatter``
renders any record as ``{"ts", "level", "logger", "msg", ...fields}``;
``configure_json_logging`` installs it on the root logger (``redline serve``
should call it).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "redline", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure_json_logging(level: str | int = "INFO") -> None:
    """Send every log record to stderr as one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
