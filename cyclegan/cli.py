"""`python -m cyclegan <command>`: the one command line of the project.

Exit codes: 0 done; 2 bad input (config, data, paths); 3 training stopped on a NaN/Inf loss.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_BAD_INPUT = 2
EXIT_NON_FINITE = 3


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"size must look like HEIGHTxWIDTH (e.g. 256x256), got {text!r}") from err
    return height, width


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment JSON, e.g. experiments/exp1.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config field (repeatable), e.g. --set train.max_steps=1000")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cyclegan", description=(
        "BreastGAN CycleGAN (Becker et al., arXiv 1811.07767) in Keras 3: prepare data, train, inspect."))
    commands = parser.add_subparsers(dest="command", required=True)

    phantom = commands.add_parser("phantom", help="write a synthetic mammography phantom (DICOM, MG)")
    phantom.add_argument("--out", required=True, help="folder to create: healthy/, cancer/, masks/")
    phantom.add_argument("--count", type=int, default=64, help="images per domain (default 64)")
    phantom.add_argument("--seed", type=int, default=42)
    phantom.add_argument("--size", type=_size, default=(512, 416), help="HEIGHTxWIDTH of the DICOMs (default 512x416)")

    prepare = commands.add_parser("prepare", help="preprocess raw images into TFRecord shards + manifest.json")
    prepare.add_argument("--source", dest="sources", action="append", required=True, metavar="KIND:PATH",
                         help="raw data to read (repeatable); KIND: folder")
    prepare.add_argument("--size", type=_size, required=True, help="HEIGHTxWIDTH, multiples of 4 (e.g. 256x256)")
    prepare.add_argument("--out", required=True, help="output folder, e.g. data/prepared/NAME")
    prepare.add_argument("--eval-fraction", type=float, default=0.15, help="share of each domain held out (0.15)")
    prepare.add_argument("--seed", type=int, default=42, help="split seed (42)")
    prepare.add_argument("--overwrite", action="store_true", help="replace an existing output folder")

    train = commands.add_parser("train", help="train (or resume) a CycleGAN into a run directory")
    _add_config_args(train)
    train.add_argument("--data", required=True, help="prepared dataset folder (has manifest.json)")
    train.add_argument("--run-dir", required=True, help="run folder; an existing one is resumed")
    train.add_argument("--strategy", choices=("auto", "default", "mirrored"),
                       help="distribution strategy (overrides train.strategy)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    translate = commands.add_parser("translate", help="translate images with a run's generators at kept steps")
    translate.add_argument("--run", required=True, help="run directory (its config.json says the architecture)")
    which = translate.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    which.add_argument("--steps", type=_int_list, help="several checkpoint steps, e.g. 35000,70000")
    translate.add_argument("--direction", required=True, choices=("h2c", "c2h"),
                           help="h2c: inject (healthy inputs); c2h: remove (cancer inputs)")
    translate.add_argument("--input", required=True,
                           help="a prepared dataset folder (uses --split) or a folder of DICOM/PNG/TIFF files")
    translate.add_argument("--split", default="eval", choices=("train", "eval"), help="split of a prepared input")
    translate.add_argument("--out", required=True, help="output folder (manifest.csv, step-N/ files)")
    translate.add_argument("--batch-size", type=int, default=4)

    artifacts = commands.add_parser("artifacts", help="grid-artefact scores at every kept checkpoint, with onset")
    artifacts.add_argument("--run", required=True, help="run directory")
    artifacts.add_argument("--data", help="prepared dataset (default: the one the run was trained on)")
    artifacts.add_argument("--split", default="eval", choices=("train", "eval"))
    artifacts.add_argument("--out", help="output folder (default: RUN/artifacts)")
    artifacts.add_argument("--threshold-db", type=float, default=10.0,
                           help="onset: median cpr_db this far above the real images at two consecutive checkpoints")
    artifacts.add_argument("--compare-steps", type=_int_list, metavar="A,B",
                           help="also write side-by-side translations at these two steps")
    artifacts.add_argument("--max-images", type=int, help="score only the first N images per domain")

    summary = commands.add_parser("summary", help="print parameter counts and image shape as JSON")
    _add_config_args(summary)

    readout = commands.add_parser("readout", help="analyse a reader study: per-reader AUCs, DeLong tests")
    readout_commands = readout.add_subparsers(dest="readout_command", required=True)
    analyze = readout_commands.add_parser("analyze", help="answer key + responses -> table, ROC plots")
    analyze.add_argument("--key", required=True, help="the study's answer_key.csv")
    analyze.add_argument("--responses", required=True, nargs="+", metavar="CSV",
                         help="one responses CSV per reader; reader i is set beside the paper's reader i")
    analyze.add_argument("--out", required=True, help="output folder (table.md, table.csv, results.json, "
                                                      "problems.csv, roc_*.png)")
    analyze.add_argument("--paper", choices=("exp1", "exp2"), help="put the paper's AUCs for this experiment beside")
    analyze.add_argument("--allow-incomplete", action="store_true",
                         help="analyse despite problems in the responses, leaving out the cases they affect")
    return parser


def _phantom(args) -> int:
    from cyclegan.data.phantom import write_phantom

    height, width = args.size
    result = write_phantom(args.out, args.count, args.seed, height=height, width=width)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _prepare(args) -> int:
    from cyclegan.data.prepare import prepare_dataset

    manifest = prepare_dataset(args.sources, args.size, args.out, eval_fraction=args.eval_fraction,
                               seed=args.seed, overwrite=args.overwrite)
    print(json.dumps({"out": args.out, "counts": manifest["counts"], "skipped": len(manifest["skipped"])}, indent=2))
    return 0


def _train(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.training import train

    overrides = list(args.overrides) + ([f"train.strategy={args.strategy}"] if args.strategy else [])
    config = load_config(args.config, overrides)
    train(config, args.data, args.run_dir, progress=not args.no_progress)
    return 0


def _translate(args) -> int:
    from cyclegan.translate import translate_run

    steps = args.steps or ([args.step] if args.step is not None else None)
    manifest = translate_run(args.run, args.direction, args.input, args.out, steps=steps, split=args.split,
                             batch_size=args.batch_size)
    print(f"Wrote translations and {manifest}")
    return 0


def _artifacts(args) -> int:
    from pathlib import Path

    from cyclegan.analysis.artifact_report import write_report
    from cyclegan.runs import run_data_dir

    if args.compare_steps is not None and len(args.compare_steps) != 2:
        raise ValueError(f"--compare-steps takes two steps, got {args.compare_steps}")
    out = Path(args.out) if args.out else Path(args.run) / "artifacts"
    summary = write_report(args.run, args.data or run_data_dir(args.run), out, args.split, args.threshold_db,
                           tuple(args.compare_steps) if args.compare_steps else None, args.max_images)
    onsets = ", ".join(f"{direction} {step if step is not None else 'not reached'}"
                       for direction, step in summary["estimated_onset"].items())
    low, high = summary["paper_onset"]
    print(f"Estimated onset (median cpr_db > real + {summary['threshold_db']:g} dB at two consecutive "
          f"checkpoints): {onsets}; paper: {low:,}" + (f"–{high:,}" if high != low else "") + " steps")
    print(f"Wrote {out / 'artifacts.csv'}, {out / 'artifacts.png'} and {out / 'onset.json'}")
    return 0


def _summary(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.networks import build_networks, count_params

    config = load_config(args.config, args.overrides)
    g_h2c, _, d_healthy, _ = build_networks(config)
    print(json.dumps({"name": config.name, "generator_params": count_params(g_h2c),
                      "discriminator_params": count_params(d_healthy),
                      "image_shape": list(config.image_shape)}, indent=2))
    return 0


def _readout_analyze(args) -> int:
    from cyclegan.analysis.readout import PROBLEMS_FILE, analyze

    readout = analyze(args.key, args.responses, args.out, paper=args.paper, allow_incomplete=args.allow_incomplete)
    for problem in readout.problems:
        where = f" (line {problem.row})" if problem.row else ""
        print(f"problem: {problem.reader}: id {problem.id!r}{where}: {problem.problem}: {problem.detail}",
              file=sys.stderr)
    if not readout.analysed:
        print(f"error: {len(readout.problems)} problem(s) in the responses, listed in "
              f"{os.path.join(args.out, PROBLEMS_FILE)}; fix them, "
              "or pass --allow-incomplete to analyse without the cases they affect", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("Wrote " + ", ".join(str(path) for path in readout.files))
    return 0


HANDLERS = {"phantom": _phantom, "prepare": _prepare, "train": _train, "summary": _summary, "translate": _translate,
            "artifacts": _artifacts,
            "readout": _readout_analyze}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from cyclegan.errors import NonFiniteLossError
    from cyclegan.config import ConfigError

    try:
        return HANDLERS[args.command](args)
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_NON_FINITE
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
