#!/usr/bin/env bash
# Every figure of the README's Performance section, on this machine, in one run (not a test):
#
#   bash benchmarks/performance.sh 2>&1 | tee performance.log     # ~20 min on 2 idle cores
#
# Prints the CPU first; each benchmark then prints its own figures and the load average. Needs the
# onnx and bench extras: pip install -e ".[onnx,bench]".
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== $(date -u +%FT%TZ)  $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "   flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_bf16|amx_tile|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "== training and inference against a naive loop and Lightning; the step against the practical peak"
python benchmarks/throughput.py --steps 2 --rounds 3 --infer 2048 --no-predict
echo "== where the sequential training step's time goes"
python benchmarks/profile_step.py
echo "== photoz.predict's loop against its network, fp32 and int8"
python benchmarks/throughput.py --predict-only --threads 1 --rounds 5
echo "== core-hours for 2e10 galaxies per CNN family, fp32 and int8; memory flat in N"
python benchmarks/predict_scale.py --n 20000 --batch-size 1024
echo "== the simulator's galaxies/s per core"
python benchmarks/simulation_speed.py
echo "== done $(date -u +%FT%TZ), load $(cut -d' ' -f1 /proc/loadavg)"
