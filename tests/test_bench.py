"""`bench` and the FLOP count it rests on."""

import json

import pytest

from cyclegan import cli
from cyclegan.config import load_config
from cyclegan.nets.networks import build_networks
from cyclegan.perf import op_profile
from cyclegan.perf.bench import format_report
from cyclegan.perf.flops import conv_costs, train_step_flops
from cyclegan.runtime.threads import cpu_cores, layout
from tests.helpers import TINY


def test_exp1_flops_match_a_count_by_hand():
    config = load_config("experiments/exp1.json")
    networks = build_networks(config)
    # Generator, per image: stem 7x7 1->32 at 256^2; 3x3 stride-2 convs 32->64 (out 128^2) and
    # 64->128 (out 64^2); 18 residual 3x3 128->128 at 64^2; transposed 3x3 128->64 on 64^2 and
    # 64->32 on 128^2; head 7x7 32->1 at 256^2.
    stem = 2 * 256 ** 2 * 49 * 1 * 32
    generator = (stem + 2 * 128 ** 2 * 9 * 32 * 64 + 2 * 64 ** 2 * 9 * 64 * 128 + 18 * 2 * 64 ** 2 * 9 * 128 ** 2
                 + 2 * 64 ** 2 * 9 * 128 * 64 + 2 * 128 ** 2 * 9 * 64 * 32 + 2 * 256 ** 2 * 49 * 32)
    # Discriminator: 4x4 convs with outputs 129^2 x 64, 65^2 x 128, 33^2 x 256, 34^2 x 512, 35^2 x 1.
    first = 2 * 129 ** 2 * 16 * 1 * 64
    discriminator = (first + 2 * 65 ** 2 * 16 * 64 * 128 + 2 * 33 ** 2 * 16 * 128 * 256
                     + 2 * 34 ** 2 * 16 * 256 * 512 + 2 * 35 ** 2 * 16 * 512 * 1)
    counted = train_step_flops(config, networks)
    assert counted["generator_forward"] == generator == 24_570_232_832
    assert counted["discriminator_forward"] == discriminator
    # Discriminator updates: 4 passes (real, pooled fake) x (forward + kernel grad + input grad but
    # the first layer's), in every order.
    discriminator_updates = 4 * (3 * discriminator - first)
    # exp1 alternates: each generator update runs its network on the real image and on the other's
    # translation (forward, kernel grad, input grad but the stem's), the other network on its
    # translation (forward, input grad) and on the real image (forward), and one discriminator
    # pass (forward, input grad).
    alternating = 2 * (9 * generator - 2 * stem + 2 * discriminator)
    assert config.train.update_order == "alternating"
    assert counted["step"] == alternating + discriminator_updates
    # joint: 4 generator passes x (forward + kernel grad + input grad), no input grad for the stem
    # on real images; 2 discriminator passes x (forward + input grad). sequential: 2 more
    # generator forwards for the discriminators' fakes from the second batch.
    joint = 12 * generator - 2 * stem + 4 * discriminator
    for order, generator_updates in (("joint", joint), ("sequential", joint + 2 * generator)):
        reordered = load_config("experiments/exp1.json", [f"train.update_order={order}"])
        assert train_step_flops(reordered, networks)["step"] == generator_updates + discriminator_updates
    assert [cost.input_shape for cost in conv_costs(networks[2], config.image_shape)][:2] == [(260, 260, 1),
                                                                                            (133, 133, 64)]


def test_bench_prints_step_time_flops_utilisation_and_pipeline_rate_as_json(capsys, tmp_path):
    sets = [arg for override in TINY for arg in ("--set", override)]
    code = cli.main(["bench", "--config", "experiments/exp1.json", *sets, "--steps", "2", "--warmup", "1", "--json",
                     "--profile", str(tmp_path / "trace")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("ms_per_step", "flops_per_step", "peak_flops", "utilization", "pipeline_images_per_s", "device"):
        assert key in result, key
    config = load_config("experiments/exp1.json", TINY)
    assert result["flops_per_step"] == train_step_flops(config)["step"]
    assert result["ms_per_step"] > 0 and result["peak_flops"] > 1e9 and result["pipeline_images_per_s"] > 0
    assert result["utilization"] == pytest.approx(
        result["flops_per_step"] / (result["ms_per_step"] / 1e3) / result["peak_flops"])
    assert result["steps_timed"] == 2 and result["pipeline_data"] == "phantom"
    assert (result["jit_compile"], result["steps_per_execution"]) == (False, 1)
    assert "XLA off, 1 step(s) per execution," in format_report(result)
    assert "XLA on, 10 step(s) per execution," in format_report(result | {"jit_compile": True,
                                                                           "steps_per_execution": 10})
    assert result["instance_norm"] == {"implementation": "fused", "source": "environment", "ms": None}  # conftest
    inter_op, intra_op = layout(cpu_cores(), gpu_visible=False, setting=None)  # conftest configured them
    assert result["cpu_threads"] == {"inter_op": inter_op, "intra_op": intra_op}
    assert f"CPU threads: {inter_op} ops at once, {intra_op} thread" in format_report(result)
    assert result["profile"]["steps"] == 2  # two executions of one step each
    by_op = result["profile"]["ms_per_step_by_op"]
    assert list(by_op.values()) == sorted(by_op.values(), reverse=True) and all(ms >= 0 for ms in by_op.values())
    assert {"Conv2DBackpropInput", "FusedBatchNormV3"} <= set(by_op)  # oneDNN's kernel prefixes dropped
    ops = result["profile"]["ops_per_step_by_op"]
    traced = op_profile.op_totals(tmp_path / "trace")  # two steps' worth
    assert ops == {op: count / 2 for op, (_, count) in traced.items()} and min(ops.values()) >= 1
    assert f"{sum(ops.values()):.0f} ops/step" in format_report(result)
    assert list((tmp_path / "trace").glob("plugins/profile/*/*.xplane.pb"))
    assert "Conv2DBackpropInput" in format_report(result) and "time by op type" in format_report(result)


def test_op_totals_sum_each_op_types_time_and_count_its_runs(tmp_path):
    import tensorflow as tf

    @tf.function
    def three_products_and_a_sine(x):
        for _ in range(3):
            x = tf.matmul(x, x)
        return tf.math.sin(x)

    x = tf.eye(64)
    three_products_and_a_sine(x)  # traced before the profiler starts
    op_profile.trace(tmp_path, lambda: [three_products_and_a_sine(x) for _ in range(2)])
    totals = op_profile.op_totals(tmp_path)
    assert (totals["MatMul"][1], totals["Sin"][1]) == (6, 2)
    assert all(ms > 0 for ms, _ in totals.values())
    assert [ms for ms, _ in totals.values()] == sorted((ms for ms, _ in totals.values()), reverse=True)


def test_bench_refuses_nonsense_step_counts(capsys):
    code = cli.main(["bench", "--config", "experiments/exp1.json", "--steps", "0"])
    assert code == cli.EXIT_BAD_INPUT
    assert "--steps" in capsys.readouterr().err


@pytest.mark.slow  # two step traces: 14 s; the plain networks' equality tests stay in the default suite
def test_compare_plain_times_both_steps_in_the_joint_order_and_reports_the_speedup(capsys, monkeypatch):
    from cyclegan.perf import bench

    # Peak and pipeline are measured by the test above; stubbed here to keep this test short.
    monkeypatch.setattr(bench, "matmul_peak", lambda dtype, size, parallel=1: 1e11)
    monkeypatch.setattr(bench, "prepare_phantom", lambda root, config: root)
    monkeypatch.setattr(bench, "pipeline_batches_per_second", lambda *args, **kwargs: 50.0)
    smaller = TINY + ["generator.residual_blocks=0"]  # fewer layers to trace: the test's time is tracing
    sets = [arg for override in smaller for arg in ("--set", override)]
    code = cli.main(["bench", "--config", "experiments/exp1.json", *sets, "--steps", "3", "--warmup", "1",
                     "--compare-plain", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["update_order"] == "joint" and result["configured_update_order"] == "alternating"
    assert result["steps_timed"] == result["plain_steps_timed"] == 3
    assert len(result["plain_ms_per_step_each"]) == 3 and result["plain_ms_per_step"] > 0
    assert result["speedup_vs_plain"] == pytest.approx(result["plain_ms_per_step"] / result["ms_per_step"],
                                                       rel=1e-12)
    joint = load_config("experiments/exp1.json", smaller + ["train.update_order=joint"])
    assert result["flops_per_step"] == train_step_flops(joint)["step"]  # the work both steps do
    assert result["plain_utilization"] == pytest.approx(result["utilization"] / result["speedup_vs_plain"])
    assert "speedup_vs_plain" in bench.format_report(result)


# exp2_script_defaults: exp2.json's spectral norm runs a power iteration per call from each
# implementation's own vector, so the plain networks' outputs differ from ours by about 1e-4 there.
@pytest.mark.parametrize("experiment", ["exp1", "exp2_script_defaults"])
def test_the_plain_networks_compute_what_the_projects_compute(experiment):
    import numpy as np

    from cyclegan.perf.bench import load_plain_step
    from tests.helpers import tiny_config

    plain = load_plain_step()
    config = tiny_config(experiment=experiment)
    ours = build_networks(config)
    theirs = (plain.plain_generator(config, "g"), plain.plain_generator(config, "f"),
              plain.plain_discriminator(config, "dh"), plain.plain_discriminator(config, "dc"))
    images = np.tanh(np.random.default_rng(0).normal(size=(2, *config.image_shape))).astype(np.float32)
    for network, copy in zip(ours, theirs):
        plain.copy_weights(network, copy)  # same weights in the same order and shapes
        assert any(layer.__class__.__name__ == "GroupNormalization" for layer in copy.layers)
        np.testing.assert_allclose(np.asarray(copy(images, training=True)),
                                   np.asarray(network(images, training=True)), atol=2e-5)


# /proc/cpuinfo flags lines (shortened) of the CPUs the project runs on.
SAPPHIRE_RAPIDS = ("fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw "
                   "avx512vl avx512_bf16 avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8")
EPYC_GENOA = "fpu sse sse2 fma sse4_2 avx avx2 avx512f avx512dq avx512_bf16 avx512vl avx512_vnni"
EPYC_MILAN = "fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c avx2 bmi2 sha_ni"
SKYLAKE_SP = "fpu sse2 fma sse4_2 avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl"
GRAVITON3 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma sve svebf16"
GRAVITON4 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics sve sve2 svebf16 bf16 i8mm"


@pytest.mark.parametrize("flags, machine, isa", [
    (SAPPHIRE_RAPIDS, "x86_64", "AVX-512 + AMX"), (EPYC_GENOA, "x86_64", "AVX-512 + BF16"),
    (SKYLAKE_SP, "x86_64", "AVX-512"), (EPYC_MILAN, "x86_64", "AVX2"), ("fpu sse2 sse4_2 avx", "x86_64", "AVX"),
    (GRAVITON3, "aarch64", "SVE"), (GRAVITON4, "aarch64", "SVE2"), ("fp asimd crc32", "aarch64", "NEON"),
    ("", "arm64", "NEON"), ("", "x86_64", "x86_64"), ("", "", "unknown"),
])
def test_cpu_isa_names_the_widest_vector_instruction_set(flags, machine, isa):
    from cyclegan.runtime.machine import cpu_isa

    assert cpu_isa(flags, machine) == isa
    assert cpu_isa(set(flags.split()), machine) == isa


def test_device_names_the_cpu_and_its_instruction_set_level(monkeypatch):
    import tensorflow as tf

    from cyclegan.runtime.machine import cpu_flags, cpu_isa, device_description

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("on a GPU machine `device` names the GPUs")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert f"({cpu_isa(cpu_flags())})" in device_description()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert f"({cpu_isa(cpu_flags())}; oneDNN limited to AVX2 by ONEDNN_MAX_CPU_ISA)" in device_description()
