"""What TensorBoard says about the logged tags: the description written with every summary
(Markdown, shown in each card's info) and the custom-scalars layout of the grid-artefact chart."""

from __future__ import annotations

from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar_summary

from cyclegan.domains import DIRECTIONS, INPUT_DOMAIN, OUTPUT_DOMAIN, REVERSE
from cyclegan.grid_scores import METRICS, PAPER_ONSETS, PAPER_SELECTION_STEPS, PAPER_SIZES
from cyclegan.tensorboard import panels

_NO_STEP_MARKS = "(TensorBoard cannot mark these steps on the charts.)"


def _named(direction: str) -> str:
    return f"{direction} ({INPUT_DOMAIN[direction]} → {OUTPUT_DOMAIN[direction]})"


def panel_description(direction: str, with_masks: bool) -> str:
    """`images/<direction>`: the translation panel."""
    gain = panels.DIFFERENCE_GAIN
    rows = "one row per image, then one for its lesion mask" if with_masks else "one row per image"
    return (f"**{_named(direction)}** on the fixed eval images at native resolution, {rows}.  \n"
            f"Columns: input | translated | reconstructed (translated back by {REVERSE[direction]}) | "
            "translated − input | reconstructed − input.  \n"
            "Images: −1 black … 1 white. "
            f"Differences ×{gain:g}: −{1 / gain:g} black … 0 mid-grey … +{1 / gain:g} white, clipped "
            f"beyond (one grey level = {2 / (gain * 255):.4f} image units).  \n"
            "Tick *Show actual image size* to see every pixel.")


def grid_view_description(direction: str) -> str:
    """`images/<direction>_grid_view`: the high-pass of input and translation."""
    limit = 1 / panels.GRID_VIEW_GAIN
    period = panels.HIGH_PASS_PERIOD
    return (f"**Grid view of {_named(direction)}**: each image minus its local mean (a centred box "
            f"one {period}-pixel period wide), "
            f"×{panels.GRID_VIEW_GAIN:g}: −{limit:g} black … 0 mid-grey … +{limit:g} white, clipped "
            "beyond (edges saturate).  \nOne row per eval image: input | translated.  \n"
            "A regular lattice — a checkerboard, dots or lines every 4 or 2 pixels — in the translated "
            f"column that the input lacks is the grid artefact; `artifacts/{direction}_tile_rms` is its "
            "amplitude.")


def spectrum_description(direction: str) -> str:
    """`images/<direction>_spectrum`: the log power spectrum of the grid view."""
    low, high = panels.SPECTRUM_DB_RANGE
    point = panels.SPECTRUM_POINT_SIZE
    return (f"**Log power spectrum of the grid view of {_named(direction)}** (Hann window), zero "
            f"frequency at each tile's centre, in dB above the tile's median: {low:g} dB black … "
            f"{high:g} dB white; each bin drawn as the brightest of its {point} × {point} neighbours.  \n"
            "One row per eval image: input | translated.  \n"
            "A pattern repeating every 4 pixels shows as bright points on a 4 × 4 lattice at 0, ¼, ½ "
            "and ¾ of the tile's height and width (the centre excepted); one repeating every 2 pixels "
            "at the middle of the top edge, the middle of the left edge and the top-left corner. "
            "Points in the translated column that the input's lacks are the generator's grid; "
            f"`artifacts/{direction}_cpr_db` measures them.")


def paper_note(experiment: str) -> str:
    """What the paper saw when, for "exp1" or "exp2", as one sentence."""
    low, high = PAPER_ONSETS[experiment]
    onset = f"{low // 1000}k" if low == high else f"{low // 1000}–{high // 1000}k"
    note = f"Paper ({experiment}, {PAPER_SIZES[experiment]}): grid patterns from about {onset} steps"
    chosen = PAPER_SELECTION_STEPS[experiment]
    if chosen:
        note += f"; images chosen at {' and '.join(f'{step // 1000}k' for step in chosen)}"
    return note + "."


_METRIC_MEANINGS = {
    "cpr_db": ("checkerboard peak ratio, in dB: the power at the 4-pixel lattice frequencies over the "
               "noise around them; about 0 dB without a pattern, +6 dB per doubling of its amplitude"),
    "tile_rms": ("RMS of the average 4 × 4 tile of the high-passed image inside the breast, in image "
                 "units (the image spans −1 … 1): the grid pattern's amplitude"),
}
_METRIC_UNITS = {"cpr_db": "dB", "tile_rms": "image units"}


def artifact_description(direction: str, metric: str, experiment: str) -> str:
    """`artifacts/<direction>_<metric>`: the median score of the direction's translations."""
    return (f"Median over the fixed eval images of {_named(direction)}'s translations: "
            f"{_METRIC_MEANINGS[metric]}. Logged with every panel. Compare with "
            f"`artifacts/baseline_{direction}_{metric}`, the real {INPUT_DOMAIN[direction]} images it "
            f"translates (the chart in Custom Scalars draws both). {paper_note(experiment)}")


def baseline_description(direction: str, metric: str) -> str:
    """`artifacts/baseline_<direction>_<metric>`: the same score of the real eval images."""
    return (f"Median over the real {INPUT_DOMAIN[direction]} eval images that {direction} translates: "
            f"{_METRIC_MEANINGS[metric]}. The level `artifacts/{direction}_{metric}` rises from; "
            "constant, logged with every panel so that it draws a line.")


def _loss_descriptions() -> dict[str, str]:
    """{log name: description} of the loss terms CycleGAN.train_step logs."""
    described = {}
    for direction in DIRECTIONS:
        source, target = INPUT_DOMAIN[direction], OUTPUT_DOMAIN[direction]
        described[f"g_{direction}/adversarial"] = (
            f"{direction}'s LSGAN adversarial term: weight × mean((D_{target}({direction}({source})) − 1)²).")
        described[f"generators/cycle_{source}"] = (
            f"Cycle term, unweighted: mean |{source} − {REVERSE[direction]}({direction}({source}))|.")
        described[f"generators/identity_{source}"] = (
            f"Identity term, unweighted: mean |{source} − {direction}({source})| (only when λ_id > 0).")
        described[f"d_{target}/real"] = (
            f"D_{target}'s LSGAN term on real {target} images: weight × mean((D_{target}(x) − 1)²).")
        described[f"d_{target}/fake"] = (
            f"D_{target}'s LSGAN term on pooled translations {direction}({source}): "
            f"weight × mean(D_{target}(x)²).")
        described[f"d_{target}/total"] = f"D_{target}'s loss: d_{target}/real + d_{target}/fake."
    described["generators/cycle_total"] = (
        "λ × (the two cycle terms, summed or averaged as loss.cycle_reduction says, + λ_id × the "
        "identity terms combined the same way).")
    described["generators/total"] = (
        "cycle_total + both adversarial terms: what the generators minimise together in the joint and "
        "sequential orders. In the alternating order each generator minimises cycle_total + its own "
        "adversarial term in its own pass; the cycle terms shown are those of g_h2c's pass.")
    return described


LOSS_DESCRIPTIONS = _loss_descriptions()
STEPS_PER_S_DESCRIPTION = ("Training steps per second since the previous scalar log, by the wall clock "
                           "(image panels and checkpoints included).")


def learning_rate_description(name: str) -> str:
    """`lr/<name>`: the learning rate of the `name` optimizer ("generator", "discriminator")."""
    return (f"Adam learning rate of the {name} optimizer at this step: constant until train.decay_start, "
            "then linear to 0 at train.duration.")


def loss_description(name: str) -> str:
    """`losses/<name>` for a loss term the training step logs under `name`."""
    meaning = LOSS_DESCRIPTIONS.get(name, f"Loss term `{name}` of the training step.")
    return f"{meaning} Logged every train.log_every steps."


def artifact_layout(experiment: str) -> layout_pb2.Layout:
    """The Custom Scalars tab: one chart per artefact metric, both directions' translations and
    their real inputs' baseline as four lines over the steps."""
    charts = [
        layout_pb2.Chart(
            title=f"{metric} ({_METRIC_UNITS[metric]}): h2c, c2h and their real inputs (baseline_…)",
            multiline=layout_pb2.MultilineChartContent(
                tag=[f"^artifacts/{prefix}{direction}_{metric}$"
                     for direction in DIRECTIONS for prefix in ("", "baseline_")]))
        for metric in METRICS]
    title = f"Grid artefacts — {paper_note(experiment)} {_NO_STEP_MARKS}"
    return layout_pb2.Layout(category=[layout_pb2.Category(title=title, chart=charts)])


def layout_summary(experiment: str) -> bytes:
    """The serialized Summary proto that carries `artifact_layout(experiment)`."""
    return custom_scalar_summary.pb(artifact_layout(experiment)).SerializeToString()
