#!/usr/bin/env bash
# Benchmark a model behind any OpenAI-compatible chat-completions endpoint (OpenAI, `vllm serve`,
# `transformers serve`, SGLang, llama.cpp, ...) with `r1ci bench --agent openai:<model>`.
#
#   OPENAI_BASE_URL=http://127.0.0.1:8000/v1 bash examples/bench_openai_endpoint.sh MODEL [extra r1ci bench options]
#   OPENAI_API_KEY=sk-... bash examples/bench_openai_endpoint.sh gpt-4o --suite test --n 10
#   bash examples/bench_openai_endpoint.sh --demo
#
# --demo builds the tiny random test model (tests/tiny_qwen.py), serves it on 127.0.0.1 with
# `transformers serve` (pip install 'r1ci[serve]'), benchmarks it on two tasks, and stops the server.
# A random tiny model answers nothing right: the demo shows the machinery.
#
# Defaults (options after MODEL override them): --suite test --n 5 --concurrency 8 --temperature 0.6 --out runs/example-openai; the sandbox
# is $R1CI_SANDBOX (default docker). Useful agent options (--agent-option KEY=VALUE):
#   conversation=continue    one growing assistant message, the R1-CI shape (vLLM/SGLang: continue_final_message)
#   conversation=auto        continue where the server accepts it, else chat messages; default: messages
#   max_concurrency=64       requests in flight (default: --concurrency)
#   timeout=600 retries=6    per request; transient errors (connection, 408/409/429/5xx) only
set -euo pipefail

SANDBOX="${R1CI_SANDBOX:-docker}"
OUT="${OUT:-runs/example-openai}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"

if [[ "${1:-}" == "--demo" ]]; then
    shift
    WORK="$(mktemp -d)"
    python "$REPO/tests/tiny_qwen.py" "$WORK/tiny-qwen2" > /dev/null
    PORT="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 python -m transformers.cli.transformers serve "$WORK/tiny-qwen2" \
        --host 127.0.0.1 --port "$PORT" --device cpu --log-level warning > "$WORK/serve.log" 2>&1 &
    SERVER=$!
    trap 'kill "$SERVER" 2> /dev/null || true; wait "$SERVER" 2> /dev/null || true; rm -rf "$WORK"' EXIT
    for _ in $(seq 1 360); do
        if python -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=2)" 2> /dev/null; then
            break
        fi
        kill -0 "$SERVER" 2> /dev/null || { cat "$WORK/serve.log"; echo "transformers serve exited" >&2; exit 1; }
        sleep 0.5
    done
    export OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY=EMPTY
    rm -rf "$OUT"
    r1ci bench --agent "openai:$WORK/tiny-qwen2" --tasks NumberMultiply,Game24 --n 2 --concurrency 2 \
        --max-tokens 32 --temperature 1.0 --sandbox "$SANDBOX" --out "$OUT" "$@"
    echo "summary: $OUT/summary.md"
    exit 0
fi

MODEL="${1:?usage: bench_openai_endpoint.sh MODEL [r1ci bench options] | --demo}"
shift
WHICH=(--suite test)  # unless the options name a suite or a task list themselves
for arg in "$@"; do [[ "$arg" == --suite* || "$arg" == --tasks* ]] && WHICH=(); done
echo "endpoint: ${OPENAI_BASE_URL:-https://api.openai.com/v1}, model: $MODEL" >&2
# Later options win, so anything given after MODEL overrides these defaults.
r1ci bench --agent "openai:$MODEL" "${WHICH[@]}" --n 5 --concurrency 8 --temperature 0.6 \
    --sandbox "$SANDBOX" --out "$OUT" "$@"
