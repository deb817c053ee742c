#!/usr/bin/env bash
# A two-minute tour on the embedded SQLite store, in a throwaway database: a job that succeeds, one that fails,
# retries with backoff and lands in the dead letter queue, and a slow one, run by two background workers.
set -euo pipefail
cd "$(dirname "$0")/.."
demo_dir=$(mktemp -d)
export QUEUECTL_DB="$demo_dir/queue.db"
q() { printf "\n$ queuectl %s\n" "$*"; node dist/cli/bin.js "$@"; }
trap 'node dist/cli/bin.js worker stop --timeout 5 >/dev/null 2>&1 || true; rm -rf "$demo_dir"' EXIT

q enqueue '{"id":"hello","command":"echo hello from $QUEUECTL_JOB_ID"}'
q enqueue '{"id":"flaky","command":"echo trying; exit 3","max_retries":1}'
q enqueue --id slow --command 'sleep 2; echo slow job done' --priority 5
q worker start --count 2
q status
echo "(waiting for the jobs: 'flaky' fails, retries after 2^1 = 2 s, fails again and goes to the DLQ)"
q wait hello flaky slow || true
q list
q show flaky
q logs hello
q dlq list
q worker stop
echo "Demo finished. Your own queue lives in ~/.local/share/queuectl/queue.db (or --db / QUEUECTL_DB)." >&2
