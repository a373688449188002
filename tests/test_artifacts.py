"""Tests of cyclegan.grid_scores: the grid-artefact scores on noise, phantoms with an injected
periodic tile of known RMS, and freshly initialised transposed-conv versus resize-conv generators."""

import keras
import numpy as np
import pytest

from cyclegan.data.phantom import power_law_texture, render_breast
from cyclegan.grid_scores import batch_scores, grid_artifact_score
from cyclegan.nets.networks import ResnetGenerator
from tests.helpers import tiny_config

QUANTUM_NOISE = 0.004  # the phantom's own pixel noise, in [0, 1] image units


def _pattern(rng, rms, shape, period=4):
    """A random zero-mean period x period tile scaled to RMS `rms`, repeated over `shape` (cropped)."""
    tile = rng.standard_normal((period, period))
    tile -= tile.mean()
    tile *= rms / np.sqrt(np.mean(tile**2))
    reps = (-(-shape[0] // period), -(-shape[1] // period))
    return np.tile(tile, reps)[: shape[0], : shape[1]]


def _phantom(seed, shape, view="CC"):
    """(clean phantom float64 in [0, 1], breast mask bool, rng for what follows)."""
    rng = np.random.default_rng(seed)
    clean, _ = render_breast(rng, *shape, view, cancer=seed % 2 == 1)
    clean = clean.astype(np.float64)
    return clean, clean > 0.1, rng


def _backgrounds(seed):
    """Artefact-free (image, source) pairs: noise fields, a phantom residual, a phantom on its own."""
    rng = np.random.default_rng(seed)
    clean, _, phantom_rng = _phantom(seed, (256, 256), ("CC", "MLO")[seed % 2])
    return {
        "white_noise": (rng.standard_normal((256, 256)), None),
        "white_noise_250x202": (rng.standard_normal((250, 202)), None),
        "power_law_texture": (power_law_texture((256, 256), 3.0, rng), None),
        "phantom_residual": (clean + phantom_rng.normal(0, QUANTUM_NOISE, clean.shape), clean),
        "phantom_alone": (clean, None),
    }


def test_cpr_is_about_zero_db_without_a_pattern():
    scores = {name: [] for name in _backgrounds(0)}
    for seed in range(6):
        for name, (image, source) in _backgrounds(seed).items():
            scores[name].append(grid_artifact_score(image, source)["cpr_db"])
    for name, values in scores.items():
        assert np.all(np.abs(values) < 3.0), (name, values)
        assert abs(np.mean(values)) < 1.5, (name, values)


@pytest.mark.parametrize("shape", [(256, 256), (250, 202)])
def test_cpr_rises_about_6_db_per_doubling_of_the_pattern(shape):
    rng = np.random.default_rng(1)
    noise, pattern = rng.standard_normal(shape), _pattern(rng, 1.0, shape)
    amplitudes = [0.0] + [2.0**k for k in range(-4, 4)]  # RMS relative to the noise's std
    cpr = np.array([grid_artifact_score(noise + a * pattern)["cpr_db"] for a in amplitudes])
    assert np.all(np.diff(cpr) > 0), cpr
    dominant = np.array(amplitudes) >= 0.5
    slopes = np.diff(cpr[dominant])
    assert np.all((slopes > 5.0) & (slopes < 7.0)), slopes


@pytest.mark.parametrize("shape", [(256, 256), (250, 202)])
@pytest.mark.parametrize("masked", [False, True], ids=["pattern_everywhere", "pattern_in_breast"])
def test_tile_rms_recovers_the_pattern_rms_against_the_clean_phantom(shape, masked):
    for seed, view in enumerate(("CC", "MLO")):
        clean, breast, rng = _phantom(seed, shape, view)
        noise = rng.normal(0, QUANTUM_NOISE, shape)
        for rms in (0.0025, 0.01, 0.04):
            pattern = _pattern(rng, rms, shape) * (breast if masked else 1)
            score = grid_artifact_score(clean + noise + pattern, clean, breast if masked else None)
            assert score["tile_rms"] == pytest.approx(rms, rel=0.1), (seed, rms, score)


def test_tile_rms_recovers_the_pattern_rms_from_the_phantom_alone():
    """Without a source the texture adds to the estimate: it holds once the pattern's RMS is above
    the phantom's pixel noise (0.01, 0.04 here; at 0.0025 errors reach ~15 % on 256 x 256)."""
    for seed, view in enumerate(("CC", "MLO", "CC")):
        clean, breast, rng = _phantom(seed, (256, 256), view)
        for rms in (0.01, 0.04):
            image = clean + _pattern(rng, rms, clean.shape) * breast
            score = grid_artifact_score(image, mask=breast)
            assert score["tile_rms"] == pytest.approx(rms, rel=0.1), (seed, rms, score)


@pytest.mark.parametrize("period", [2, 3, 8])
def test_other_periods(period):
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.01, (256, 256))
    for rms in (0.01, 0.04):
        score = grid_artifact_score(noise + _pattern(rng, rms, noise.shape, period), period=period)
        assert score["tile_rms"] == pytest.approx(rms, rel=0.1)
        assert score["cpr_db"] > 10.0


def test_scores_follow_the_image_units():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((64, 80)) + _pattern(rng, 0.5, (64, 80))
    score, scaled = grid_artifact_score(image), grid_artifact_score(10 * image + 7)
    assert scaled["tile_rms"] == pytest.approx(10 * score["tile_rms"])
    assert scaled["cpr_db"] == pytest.approx(score["cpr_db"])


def test_a_constant_residual_scores_zero():
    image = np.random.default_rng(4).standard_normal((32, 32))
    assert grid_artifact_score(image, image) == {"cpr_db": 0.0, "tile_rms": 0.0}
    assert grid_artifact_score(np.full((32, 32), 0.3)) == {"cpr_db": 0.0, "tile_rms": 0.0}


def _generator_interior(upsample, seed, size=128, border=32):
    """Output of a fresh exp1 generator (8 filters, 1 block) on a constant input, cropped `border`
    pixels from each side: beyond the zero padding's reach, so a perfect upsampler gives a constant."""
    keras.utils.set_random_seed(seed)
    config = tiny_config(f"data.height={size}", f"data.width={size}", "generator.filters=8",
                         f"generator.upsample={upsample}")
    generator = ResnetGenerator(config.generator, channels=1)
    output = generator(np.full((1, size, size, 1), 0.5, np.float32))
    return keras.ops.convert_to_numpy(output)[0, border:-border, border:-border, 0].astype(np.float64)


@pytest.mark.parametrize("upsample", ["conv_transpose", "nn_upsample_conv"])
def test_transposed_conv_generator_scores_high_and_resize_conv_low(upsample):
    """The output is tanh(input + head); the input is constant, so scoring it against tanh(input)
    would only shift the mean, which the scores remove. The interior is seen over white noise of
    std 0.01 (a 1.3-grey-level floor), without which cpr_db, a ratio, has no noise to compare with.
    Measured over 12 seeds: transposed 19-33 dB and tile_rms 0.016-0.08; resize-conv -1.5-0.5 dB and
    tile_rms 0.0005-0.0009 (the noise floor)."""
    for seed in range(3):
        interior = _generator_interior(upsample, seed)
        observed = interior + np.random.default_rng(seed).normal(0, 0.01, interior.shape)
        score = grid_artifact_score(observed)
        if upsample == "conv_transpose":
            assert score["cpr_db"] > 10.0 and score["tile_rms"] > 5e-3, (seed, score)
        else:
            assert abs(score["cpr_db"]) < 3.0 and score["tile_rms"] < 2e-3, (seed, score)


def test_batch_scores_match_single_scores():
    rng = np.random.default_rng(5)
    sources = rng.standard_normal((3, 40, 48))
    images = sources + rng.normal(0, 0.1, sources.shape) + _pattern(rng, 0.05, (40, 48))
    masks = np.zeros(images.shape, bool)
    masks[:, 5:35, 4:44] = True
    scores = batch_scores(images, sources, masks, period=4)
    assert set(scores) == {"cpr_db", "tile_rms"} and scores["cpr_db"].shape == (3,)
    for index in range(3):
        single = grid_artifact_score(images[index], sources[index], masks[index])
        assert scores["cpr_db"][index] == single["cpr_db"] and scores["tile_rms"][index] == single["tile_rms"]
    np.testing.assert_array_equal(batch_scores(images)["cpr_db"],
                                  [grid_artifact_score(image)["cpr_db"] for image in images])


def _small_mask():
    mask = np.zeros((32, 32), bool)
    mask[10:20, 10:20] = True  # eroded by 4: 2 x 2 pixels, not every phase of a 4 x 4 tile
    return mask


@pytest.mark.parametrize("call, message", [
    (lambda x: grid_artifact_score(x[None]), "2-D"),
    (lambda x: grid_artifact_score(x, x[:, :-1]), "source shape"),
    (lambda x: grid_artifact_score(x, mask=np.ones((32, 31), bool)), "mask shape"),
    (lambda x: grid_artifact_score(np.where(x > 1, np.nan, x)), "finite"),
    (lambda x: grid_artifact_score(x, np.full_like(x, np.inf)), "finite"),
    (lambda x: grid_artifact_score(x, period=1), "period"),
    (lambda x: grid_artifact_score(x, period=2.5), "period"),
    (lambda x: grid_artifact_score(x, period=True), "period"),
    (lambda x: grid_artifact_score(x, period=11), "at least 33 pixels"),
    (lambda x: grid_artifact_score(x[:16]), "at least 17 pixels"),
    (lambda x: grid_artifact_score(x, mask=_small_mask()), "eroded"),
    (lambda x: grid_artifact_score(x, mask=np.zeros_like(x, bool)), "eroded"),
    (lambda x: batch_scores(x), r"\(N, H, W\)"),
    (lambda x: batch_scores(x[None], sources=x), "sources"),
    (lambda x: batch_scores(x[None], masks=x[None, :-1]), "masks"),
    (lambda x: grid_artifact_score(x[0]), r"2-D \(H, W\); got shape \(32,\)"),
    (lambda x: grid_artifact_score(x, np.pad(x, ((0, 1), (0, 0)))), r"source shape \(33, 32\) differs"),
    (lambda x: grid_artifact_score(x, mask=np.ones((33, 32), bool)), "mask shape"),
    (lambda x: grid_artifact_score(x, mask=np.ones((32, 33), bool)), "mask shape"),
    (lambda x: batch_scores(x[None, ..., None]), r"\(N, H, W\); got shape \(1, 32, 32, 1\)"),
], ids=["3d", "source_shape", "mask_shape", "nan", "inf_source", "period_1", "period_float", "period_bool",
        "period_too_long", "too_small", "mask_too_small", "mask_empty", "batch_2d", "batch_sources",
        "batch_masks", "1d", "larger_source", "taller_mask", "wider_mask", "batch_4d"])
def test_invalid_inputs_raise_clear_errors(call, message):
    image = np.random.default_rng(6).standard_normal((32, 32))
    with pytest.raises(ValueError, match=message):
        call(image)
