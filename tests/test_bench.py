"""`bench` and the FLOP count it rests on."""

import json

import pytest

from cyclegan import cli
from cyclegan.config import load_config
from cyclegan.flops import conv_costs, train_step_flops
from cyclegan.networks import build_networks
from helpers import TINY


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


def test_bench_prints_step_time_flops_utilisation_and_pipeline_rate_as_json(capsys):
    sets = [arg for override in TINY for arg in ("--set", override)]
    code = cli.main(["bench", "--config", "experiments/exp1.json", *sets, "--steps", "2", "--warmup", "1", "--json"])
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


def test_bench_refuses_nonsense_step_counts(capsys):
    code = cli.main(["bench", "--config", "experiments/exp1.json", "--steps", "0"])
    assert code == cli.EXIT_BAD_INPUT
    assert "--steps" in capsys.readouterr().err
