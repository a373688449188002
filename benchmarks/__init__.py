"""Benchmarks and the GPU machine's check, run from the repository root as modules, e.g.
`python -m benchmarks.prepare_throughput` (gpu_check.sh runs `python -m benchmarks.gpu_check`).
plain_keras_step.py is loaded by `bench --compare-plain` (cyclegan/perf/bench.py)."""
