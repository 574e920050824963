#!/usr/bin/env bash
# The project's two commands on a fresh machine (Python 3.11 and pip are all it needs):
#   ./dev.sh run    install everything, load the demo data and serve the API on http://127.0.0.1:8000
#   ./dev.sh test   install everything, lint (ruff, mypy) and run the test suite
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${VENV:-.venv}"

install() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the project's dependencies changed since the last install.
    stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        # Pinned first so that nothing pulls a multi-GB CUDA build; see README "PyTorch".
        "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
        "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

case "${1:-}" in
    run)
        install
        shift
        exec "$VENV/bin/techmatch" serve --demo "$@"
        ;;
    test)
        install
        shift
        # The browser tests drive Debian's Chromium (never a browser downloaded at run time).
        if ! command -v chromium >/dev/null; then
            apt-get update && apt-get install -y chromium
        fi
        export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
        "$VENV/bin/ruff" check .
        "$VENV/bin/mypy"
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh run|test [extra arguments]" >&2
        exit 2
        ;;
esac
