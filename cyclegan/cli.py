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

    summary = commands.add_parser("summary", help="print parameter counts and image shape as JSON")
    _add_config_args(summary)
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


def _summary(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.networks import build_networks, count_params

    config = load_config(args.config, args.overrides)
    g_h2c, _, d_healthy, _ = build_networks(config)
    print(json.dumps({"name": config.name, "generator_params": count_params(g_h2c),
                      "discriminator_params": count_params(d_healthy),
                      "image_shape": list(config.image_shape)}, indent=2))
    return 0


HANDLERS = {"phantom": _phantom, "prepare": _prepare, "train": _train, "summary": _summary}


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
