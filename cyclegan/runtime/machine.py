"""What machine this is, in words: the CPU's model and instruction-set level, or the GPUs.

Used by `bench` (its `device` and `cpu_isa` figures) and by the instance-norm choice's cache key.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import tensorflow as tf


def cpu_flags() -> set[str]:
    """The CPU's feature flags, lower case: /proc/cpuinfo's `flags` (x86) or `Features` (ARM) on
    Linux, sysctl's machdep.cpu features on Intel macOS; empty where neither answers."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                return set(value.lower().split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            features = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                                      capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return set()
        return {flag.lower().replace(".", "_") for flag in features.split()}
    return set()


def cpu_isa(flags: set[str] | str, machine: str | None = None) -> str:
    """The widest vector instruction set in `flags` (a /proc/cpuinfo flags line or a set):
    "AVX-512 + AMX", "AVX-512 + BF16", "AVX-512", "AVX2", "AVX", "SSE4.2" on x86; "SVE2", "SVE",
    "NEON" on ARM; else `machine` (platform.machine()) or "unknown"."""
    if isinstance(flags, str):
        flags = set(flags.lower().split())
    if "avx512f" in flags:
        if "amx_tile" in flags:
            return "AVX-512 + AMX"
        return "AVX-512 + BF16" if "avx512_bf16" in flags else "AVX-512"
    for flag, name in (("avx2", "AVX2"), ("avx", "AVX"), ("avx1_0", "AVX"), ("sse4_2", "SSE4.2"),
                       ("sve2", "SVE2"), ("sve", "SVE"), ("asimd", "NEON")):
        if flag in flags:
            return name
    machine = platform.machine() if machine is None else machine
    if machine.lower() in ("arm64", "aarch64"):
        return "NEON"  # every 64-bit ARM CPU has it (Apple silicon reports no flags)
    return machine or "unknown"


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, sysctl on macOS), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                   timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            brand = ""
        if brand:
            return brand
    return platform.processor() or "CPU"


def device_description() -> str:
    """The accelerator(s) the step runs on, or the CPU model, its instruction-set level and core count."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus]
        return f"{len(gpus)} x {names[0]}"
    isa = cpu_isa(cpu_flags())
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if limit:
        isa += f"; oneDNN limited to {limit} by ONEDNN_MAX_CPU_ISA"
    return f"{cpu_model()} ({isa}), {os.cpu_count()} cores"
