"""Reads `docker compose ps --all --format json` on stdin; the arguments are the stack's services.

Exit 0: every service is running and healthy (a healthcheck is required), or is a one-shot that
exited 0. Exit 2: a container exited non-zero (a one-shot failed, or a server died). Exit 1: not yet.
Prints what it is waiting for.
"""

import json
import sys

lines = sys.stdin.read().strip()
rows = json.loads(lines) if lines.startswith("[") else [json.loads(line) for line in lines.splitlines()]
state = {row["Service"]: row for row in rows}
waiting, failed = [], []
for service in sys.argv[1:]:
    row = state.get(service)
    if row is None:
        waiting.append(f"{service}: no container")
    elif row["State"] == "exited":
        if row.get("ExitCode", 0) != 0:
            failed.append(f"{service}: exited {row['ExitCode']}")
    elif row["State"] != "running" or row.get("Health") != "healthy":
        waiting.append(f"{service}: {row['State']} {row.get('Health') or 'no healthcheck'}")
if failed:
    print("failed: " + "; ".join(failed), file=sys.stderr)
    sys.exit(2)
if waiting:
    print("waiting: " + "; ".join(waiting), file=sys.stderr)
    sys.exit(1)
