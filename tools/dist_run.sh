#!/usr/bin/env bash
# Launch tools/SCRIPT on GPUS processes per node with torch.distributed (NCCL on GPUs, gloo on
# CPU). Used by dist_train.sh and dist_test.sh; multi-node through the usual variables:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8    # on node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8    # on node 1
# Usage: tools/dist_run.sh SCRIPT GPUS [script arguments]
set -euo pipefail
SCRIPT=$1
GPUS=$2
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/$SCRIPT" "${@:3}" --launcher pytorch
