#!/bin/sh
# Install llama-cpp-python[server] (for the bundled SmolLM2 local model) into the venv.
# The default native build dies with SIGILL on these VMs (the CPU advertises AMX the VM
# cannot run), so build portable AVX2 code. Idempotent: does nothing if already installed.
set -eu
VENV="${VENV:-.venv}"
if "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
    echo "llama-cpp-python already installed"
    exit 0
fi
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
"$VENV/bin/python" -m pip install -q -r requirements-llm.txt
