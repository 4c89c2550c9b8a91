#!/usr/bin/env bash
# tests/faults/fault_garbage_curve.sh: fault_garbage.sh with CURVE on the
# coordinator's port (cluster.curve; FAULT_CURVE=1, see its header).
FAULT_CURVE=1 exec bash "$(dirname "$0")/fault_garbage.sh" "$@"
