#!/usr/bin/env bash
# Testing under Slurm: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS as in slurm_train.sh.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
exec "$(dirname "$0")/slurm_run.sh" "$PARTITION" "$JOB_NAME" test.py "$CONFIG" "$CHECKPOINT" "${@:5}"
