#!/usr/bin/env bash
# srun one task per GPU running tools/SCRIPT with --launcher slurm (used by slurm_{train,test}.sh).
# Usage: tools/slurm_run.sh PARTITION JOB_NAME SCRIPT [script arguments]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SIGNAL=()
if [[ "$SCRIPT" == train.py ]]; then
  # SIGUSR1 STOP_SIGNAL_SECONDS (default 120) before the time limit: train.py then saves a
  # checkpoint after the current iteration and stops; --resume continues from it.
  SIGNAL=(--signal="USR1@${STOP_SIGNAL_SECONDS:-120}")
fi
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SIGNAL[@]+"${SIGNAL[@]}"} \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$(dirname "$0")/$SCRIPT" "${@:4}" --launcher slurm
