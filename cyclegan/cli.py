"""`python -m cyclegan <command>`: the one command line of the project.

Exit codes: 0 done; 2 bad input (config, data, paths, a run folder in use); 3 training stopped on
a NaN/Inf loss; 4 the disk is full (training keeps its last complete checkpoint); 130 interrupted (Ctrl-C).

Each command's options are declared by its `add_<command>(commands)`, right above its handler `_<command>(args)`,
which it sets as the parsed arguments' `handler`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from cyclegan.analysis.readers.design import LAYOUTS
from cyclegan.config import CHOICES
from cyclegan.data.labels import BCDR_RULES, LABEL_RULES, MASK_RULES
from cyclegan.data.preprocess import RESIZE_MODES
from cyclegan.data.recipes import RECIPES, resolve
from cyclegan.domains import INPUT_DOMAIN
from cyclegan.runtime import threads
from cyclegan.runtime.startup import start_tensorflow_quietly

EXIT_BAD_INPUT = 2
EXIT_NON_FINITE = 3
EXIT_DISK_FULL = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as a shell reports it
WITHOUT_TENSORFLOW = frozenset({"phantom", "readout"})  # commands that never import TensorFlow


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"size must look like HEIGHTxWIDTH (e.g. 256x256), got {text!r}") from err
    return height, width


def _training_size(text: str) -> tuple[int, int]:
    """HEIGHTxWIDTH that the networks can train on: positive multiples of 4 (two downsamplings by 2)."""
    height, width = _size(text)
    if height <= 0 or width <= 0 or height % 4 or width % 4:
        raise argparse.ArgumentTypeError(
            f"size must be positive multiples of 4 (the generator downsamples twice by 2), got {text!r}")
    return height, width


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment JSON, e.g. experiments/exp1.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config field (repeatable), e.g. --set train.max_steps=1000")


def add_phantom(commands: argparse._SubParsersAction) -> None:
    phantom = commands.add_parser("phantom", help="write a synthetic mammography phantom (DICOM, MG)")
    phantom.add_argument("--out", required=True, help="folder to create: healthy/, cancer/, masks/")
    phantom.add_argument("--count", type=int, default=64, help="images per domain (default 64)")
    phantom.add_argument("--seed", type=int, default=42)
    phantom.add_argument("--size", type=_size, default=(512, 416), help="HEIGHTxWIDTH of the DICOMs (default 512x416)")
    phantom.add_argument("--overwrite", action="store_true",
                         help="replace the healthy/, cancer/ and masks/ of a phantom already in --out (without it, "
                              "such a folder is refused)")
    phantom.set_defaults(handler=_phantom)


def _phantom(args) -> int:
    from cyclegan.data.phantom import write_phantom

    height, width = args.size
    result = write_phantom(args.out, args.count, args.seed, height=height, width=width, overwrite=args.overwrite)
    print(json.dumps(result, indent=2, default=str))
    return 0


def add_prepare(commands: argparse._SubParsersAction) -> None:
    prepare = commands.add_parser("prepare", help="preprocess raw images into TFRecord shards + manifest.json")
    prepare.add_argument("--source", dest="sources", action="append", required=True, metavar="KIND:PATH",
                         help="raw data to read (repeatable, kinds mixed freely); KIND: inbreast, bcdr, cbis, folder")
    prepare.add_argument("--recipe", choices=tuple(RECIPES),
                         help="all settings as an original made its data: exp1 (its code: CC only, Mass = X, any "
                              "BCDR outline, 9 copies, no eval split, stretched to 256x256), exp1-paper (the same "
                              "with CC and MLO, as the paper's text says), exp2 (its code: 512x408, birads4, BCDR "
                              "last outline, synthetic masks); flags given as well override it")
    prepare.add_argument("--size", type=_training_size,
                         help="HEIGHTxWIDTH, multiples of 4 (e.g. 256x256); required without --recipe")
    prepare.add_argument("--out", help="output folder, e.g. data/prepared/NAME (not needed with --dry-run)")
    prepare.add_argument("--label-rule", choices=tuple(LABEL_RULES),
                         help="INbreast labels: birads4 (>= 4 cancer, 3 excluded; default), birads3 (>= 3 cancer), "
                              "mass (has a mass: experiment 1's code)")
    prepare.add_argument("--bcdr-rule", choices=tuple(BCDR_RULES),
                         help="BCDR labels and masks from the outline rows: malignant (a Malign outline; default), "
                              "last-outline (the last row decides: experiment 2's code), any-outline (any row: "
                              "experiment 1's code)")
    prepare.add_argument("--mask-rule", choices=tuple(MASK_RULES),
                         help="synthetic (default, experiment 2's code): every image without a lesion annotation "
                              "gets a synthetic blob in the breast; empty: healthy images get an empty mask")
    prepare.add_argument("--resize", choices=RESIZE_MODES,
                         help="fit (aspect kept, padded; default) or stretch (fills the frame, as experiment 1)")
    prepare.add_argument("--views", metavar="CC,MLO", help="keep only these views (default: all)")
    prepare.add_argument("--exclude", metavar="FILE", help="CSV with a Filename column of images to leave out")
    prepare.add_argument("--augment-copies", type=int, metavar="N",
                         help="augmented copies per image (rotation, scale, contrast; default 0)")
    prepare.add_argument("--split-by", default="image", choices=("image", "patient"),
                         help="image (original, default) or patient (no patient in both splits)")
    prepare.add_argument("--eval-fraction", type=float, help="share of each domain held out (default 0.15)")
    prepare.add_argument("--seed", type=int, default=42, help="split, synthetic mask and augmentation seed (42)")
    prepare.add_argument("--workers", type=int, default=1, help="processes reading and preprocessing images (1)")
    prepare.add_argument("--dry-run", action="store_true", help="print counts and skipped files, write nothing")
    prepare.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    prepare.add_argument("--no-progress", action="store_true", help="no progress bar")
    prepare.set_defaults(handler=_prepare)


def _prepare(args) -> int:
    from cyclegan.data.prepare import prepare_dataset, split_warnings
    from cyclegan.data.skip_reasons import describe_skips, kind_counts

    if args.out is None and not args.dry_run:
        raise ValueError("prepare needs --out FOLDER (or --dry-run)")
    settings = resolve(
        args.recipe, size=args.size, views=args.views, label_rule=args.label_rule, bcdr_rule=args.bcdr_rule,
        mask_rule=args.mask_rule, resize=args.resize, augment_copies=args.augment_copies,
        eval_fraction=args.eval_fraction, seed=args.seed, split_by=args.split_by, exclude=args.exclude)
    manifest = prepare_dataset(args.sources, settings, args.out, overwrite=args.overwrite,
                               progress=not args.no_progress, workers=args.workers, dry_run=args.dry_run)
    per_source = {spec: {"images": account["images"], "skipped": account["skipped"]}
                  for spec, account in manifest["per_source"].items()}
    summary = {"out": None if args.dry_run else args.out, "size": manifest["size"], "counts": manifest["counts"],
               "original_counts": manifest["original_counts"], "mask_origins": manifest["mask_origins"],
               "per_source": per_source}
    summary["skipped"] = manifest["skipped"] if args.dry_run else len(manifest["skipped"])
    summary["skipped_by_reason"] = kind_counts(manifest["skipped"])
    print(json.dumps(summary, indent=2))
    where = ('under "skipped" above' if args.dry_run
             else f'in {os.path.join(args.out, "manifest.json")} ("skipped")')
    print(describe_skips(manifest["skipped"]) + (f"; each with its reason {where}" if manifest["skipped"] else ""),
          file=sys.stderr)
    for warning in split_warnings(manifest):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def add_preview(commands: argparse._SubParsersAction) -> None:
    preview = commands.add_parser("preview", help="contact sheet of a prepared dataset, masks outlined")
    preview.add_argument("data", metavar="DATA_DIR", help="prepared dataset folder (has manifest.json)")
    preview.add_argument("--out", required=True, help="PNG to write, e.g. preview.png")
    preview.add_argument("--per-group", type=int, default=4, help="images per split and domain (4)")
    preview.set_defaults(handler=_preview)


def _preview(args) -> int:
    from cyclegan.data.preview import write_preview

    print(f"Wrote {write_preview(args.data, args.out, per_group=args.per_group)}")
    return 0


def add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train (or resume) a CycleGAN into a run directory",
                                description="Train (or resume) a CycleGAN into a run directory, to step "
                                            "train.max_steps, or to the end of the schedule when it is 0 "
                                            "(the default; train.duration in train.schedule_unit).")
    _add_config_args(train)
    train.add_argument("--data", required=True, help="prepared dataset folder (has manifest.json)")
    train.add_argument("--run-dir", required=True,
                       help="run folder; an existing one is resumed (one trainer at a time: it is locked)")
    train.add_argument("--allow-other-data", action="store_true",
                       help="resume on another dataset than the run's (refused without it; recorded in run.json)")
    train.add_argument("--strategy", choices=CHOICES["train.strategy"],
                       help="distribution strategy (overrides train.strategy); multiworker reads the "
                            "cluster from TF_CONFIG")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)


def _train(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.train.training import train

    overrides = list(args.overrides) + ([f"train.strategy={args.strategy}"] if args.strategy else [])
    config = load_config(args.config, overrides)
    train(config, args.data, args.run_dir, progress=not args.no_progress, allow_other_data=args.allow_other_data)
    return 0


def add_translate(commands: argparse._SubParsersAction) -> None:
    translate = commands.add_parser("translate", help="translate images with a run's generators at kept steps")
    translate.add_argument("--run", required=True, help="run directory (its config.json says the architecture)")
    which = translate.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    which.add_argument("--steps", type=_int_list, help="several checkpoint steps, e.g. 35000,70000")
    translate.add_argument("--direction", required=True, choices=tuple(INPUT_DOMAIN),
                           help="h2c: inject (healthy inputs); c2h: remove (cancer inputs)")
    translate.add_argument("--input", required=True,
                           help="a prepared dataset folder (uses --split) or a folder of DICOM/PNG/TIFF files")
    translate.add_argument("--split", default="eval", choices=("train", "eval"), help="split of a prepared input")
    translate.add_argument("--out", required=True, help="output folder (manifest.csv, step-N/ files)")
    translate.add_argument("--batch-size", type=_positive_int, default=4)
    translate.add_argument("--dicom", action="store_true",
                           help="also write each image that came from a DICOM as a derived DICOM at its source's "
                                "size, orientation and stored range (docs/training.md)")
    translate.add_argument("--dicom-mode", choices=("blend", "full"), default="blend",
                           help="blend: the change added to the source inside the breast, the source kept outside "
                                "(default); full: the whole translated image upsampled")
    translate.add_argument("--anonymize", action="store_true",
                           help="with --dicom: patient name and ID replaced by a pseudonym per patient "
                                "(OUT/pseudonyms.csv maps them back)")
    translate.set_defaults(handler=_translate)


def _translate(args) -> int:
    from cyclegan.runs.translate import translate_run

    steps = args.steps or ([args.step] if args.step is not None else None)
    manifest = translate_run(args.run, args.direction, args.input, args.out, steps=steps, split=args.split,
                             batch_size=args.batch_size, dicom_mode=args.dicom_mode if args.dicom else None,
                             anonymize=args.anonymize)
    print(f"Wrote translations and {manifest}")
    return 0


def add_artifacts(commands: argparse._SubParsersAction) -> None:
    artifacts = commands.add_parser("artifacts", help="grid-artefact scores at every kept checkpoint, with onset")
    artifacts.add_argument("--run", required=True, help="run directory")
    artifacts.add_argument("--data", help="prepared dataset (default: the one the run was trained on, as run.json "
                                          "records it)")
    artifacts.add_argument("--split", default="eval", choices=("train", "eval"))
    artifacts.add_argument("--out", help="output folder (default: RUN/artifacts)")
    artifacts.add_argument("--threshold-db", type=float, default=10.0,
                           help="onset: median cpr_db this far above the real images at two consecutive checkpoints")
    artifacts.add_argument("--compare-steps", type=_int_list, metavar="A,B",
                           help="also write side-by-side translations at these two steps")
    artifacts.add_argument("--max-images", type=int, help="score only the first N images per domain")
    artifacts.set_defaults(handler=_artifacts)


def _artifacts(args) -> int:
    from pathlib import Path

    from cyclegan.analysis.artifacts.report import write_report

    if args.compare_steps is not None and len(args.compare_steps) != 2:
        raise ValueError(f"--compare-steps takes two steps, got {args.compare_steps}")
    out = Path(args.out) if args.out else Path(args.run) / "artifacts"
    summary = write_report(args.run, args.data, out, args.split, args.threshold_db,
                           tuple(args.compare_steps) if args.compare_steps else None, args.max_images)
    onsets = ", ".join(f"{direction} {step if step is not None else 'not reached'}"
                       for direction, step in summary["estimated_onset"].items())
    low, high = summary["paper_onset"]
    print(f"Estimated onset (median cpr_db > real + {summary['threshold_db']:g} dB at two consecutive "
          f"checkpoints): {onsets}; paper: {low:,}" + (f"–{high:,}" if high != low else "") + " steps")
    print(f"Wrote {out / 'artifacts.csv'}, {out / 'artifacts.png'} and {out / 'onset.json'}")
    return 0


def add_detect(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser("detect", help="automated detector: AUC of modified vs original per checkpoint")
    detect.add_argument("--run", required=True, help="run directory")
    detect.add_argument("--steps", type=_int_list, help="checkpoint steps (default: every kept one)")
    detect.add_argument("--data", help="prepared dataset (default: the one the run was trained on, as run.json "
                                       "records it)")
    detect.add_argument("--split", default="eval", choices=("train", "eval"))
    detect.add_argument("--out", help="output folder (default: RUN/detect)")
    detect.add_argument("--folds", type=int, default=5, help="cross-validation folds, grouped by source image")
    detect.add_argument("--max-images", type=int, help="use only the first N images per domain")
    detect.set_defaults(handler=_detect)


def _detect(args) -> int:
    from pathlib import Path

    from cyclegan.analysis.artifacts.detector import detect_run

    out = Path(args.out) if args.out else Path(args.run) / "detect"
    rows = detect_run(args.run, args.data, out, args.steps, args.split, args.folds, args.max_images)
    for row in rows:
        print(f"step {row['step']}: AUC {row['auc']:.3f} (95 % CI {row['ci_low']:.3f}–{row['ci_high']:.3f}, "
              f"{row['ci_method']}), "
              f"{row['originals']} originals vs {row['modified']} modified, {row['folds']} folds")
    print(f"Wrote {out / 'detect.csv'} and {out / 'detect.png'}")
    return 0


def add_summary(commands: argparse._SubParsersAction) -> None:
    summary = commands.add_parser("summary", help="print parameter counts and image shape as JSON")
    _add_config_args(summary)
    summary.set_defaults(handler=_summary)


def _summary(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.nets.networks import build_networks, count_params

    config = load_config(args.config, args.overrides)
    g_h2c, _, d_healthy, _ = build_networks(config)
    print(json.dumps({"name": config.name, "generator_params": count_params(g_h2c),
                      "discriminator_params": count_params(d_healthy),
                      "image_shape": list(config.image_shape)}, indent=2))
    return 0


def add_bench(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="ms per training step, FLOPs, utilisation of the matmul peak, "
                                              "input pipeline rate")
    _add_config_args(bench)
    bench.add_argument("--steps", type=int, default=5,
                       help="steps timed after the warm-up (5); executions of train.steps_per_execution steps")
    bench.add_argument("--warmup", type=int, default=2, help="steps (executions) run first and not timed (2)")
    bench.add_argument("--data", help="prepared dataset for the pipeline rate (default: a temporary phantom)")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("--compare-plain", action="store_true",
                       help="also time a plain Keras 3 step of the same networks (benchmarks/plain_keras_step.py), "
                            "both in update order joint, interleaved step by step; reports speedup_vs_plain")
    bench.add_argument("--profile", metavar="DIR",
                       help="also trace 2 more executions with the TensorFlow profiler into DIR and report the "
                            "time per step by op type (the trace opens in TensorBoard's Profile tab or Perfetto)")
    bench.set_defaults(handler=_bench)


def _bench(args) -> int:
    from cyclegan.config import load_config
    from cyclegan.perf.bench import format_report, run_bench

    if args.steps < 1 or args.warmup < 1:
        raise ValueError(f"--steps and --warmup must be at least 1; got {args.steps} and {args.warmup}")
    result = run_bench(load_config(args.config, args.overrides), args.steps, args.warmup, args.data,
                       compare_plain=args.compare_plain, profile_dir=args.profile)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def add_readout(commands: argparse._SubParsersAction) -> None:
    readout = commands.add_parser("readout", help="analyse a reader study: per-reader AUCs and DeLong tests, "
                                                  "all readers by MRMC (Obuchowski-Rockette-Hillis)")
    readout_commands = readout.add_subparsers(dest="readout_command", required=True)
    add_readout_analyze(readout_commands)


def add_readout_analyze(readout_commands: argparse._SubParsersAction) -> None:
    analyze = readout_commands.add_parser("analyze", help="answer key + responses -> table, ROC plots")
    analyze.add_argument("--key", required=True, help="the study's answer_key.csv")
    analyze.add_argument("--responses", required=True, nargs="+", metavar="CSV",
                         help="one responses CSV per reader; reader i is set beside the paper's reader i")
    analyze.add_argument("--out", required=True, help="output folder (table.md, table.csv, results.json, "
                                                      "problems.csv, roc_*.png)")
    analyze.add_argument("--paper", choices=("exp1", "exp2"), help="put the paper's AUCs for this experiment beside")
    analyze.add_argument("--allow-incomplete", action="store_true",
                         help="analyse despite problems in the responses, leaving out the cases they affect")
    analyze.set_defaults(handler=_readout_analyze)


def _readout_analyze(args) -> int:
    from cyclegan.analysis.readers.readout import PROBLEMS_FILE, analyze

    readout = analyze(args.key, args.responses, args.out, paper=args.paper, allow_incomplete=args.allow_incomplete)
    for warning in readout.warnings:
        print(f"warning: {warning}", file=sys.stderr)
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


def add_reproduce(commands: argparse._SubParsersAction) -> None:
    reproduce = commands.add_parser("reproduce", help="the onset study: train a plan's arms and seeds, score every "
                                                      "checkpoint, report where the grid appears")
    reproduce.add_argument("--plan", required=True, help="plan JSON, e.g. experiments/reproduce/small.json")
    reproduce.add_argument("--out", required=True,
                           help="study folder; running the same command again resumes every run where it stopped")
    reproduce.add_argument("--data", action="append", default=[],
                           help="prepared dataset to train the arms on, its eval split scored; one per image size "
                                "the arms train at (repeatable; default: the built-in phantom, and a second phantom "
                                "never trained on for scoring)")
    reproduce.add_argument("--arm", action="append", default=[],
                           help="train and report only this arm of the plan (repeatable; default: all)")
    reproduce.add_argument("--seed", action="append", type=int, default=[],
                           help="train and report only this seed of the plan (repeatable; default: all)")
    reproduce.add_argument("--parallel", type=_positive_int,
                           help="trainings at once, the cores shared equally (default: one per core)")
    reproduce.add_argument("--smoke", action="store_true",
                           help="the same path at a tiny size (32x32, 40 steps, one seed), in about a minute")
    reproduce.add_argument("--report-only", action="store_true",
                           help="train nothing: score the checkpoints there are and write the report")
    reproduce.add_argument("--no-progress", action="store_true", help="no progress bar")
    reproduce.set_defaults(handler=_reproduce)


def _reproduce(args) -> int:
    from cyclegan.analysis.onset.plan import load_plan, smoke
    from cyclegan.analysis.onset.study import run_study

    plan = load_plan(args.plan)
    summary = run_study(smoke(plan) if args.smoke else plan, args.out, args.data, args.parallel,
                        progress=not args.no_progress, report_only=args.report_only, arms=args.arm, seeds=args.seed)
    for name, arm in summary["arms"].items():
        print(f"{name}: onset in {arm['with_onset']} of {arm['seeds']} seeds"
              + (f", median step {arm['median_onset_step']:,.0f}" if arm["median_onset_step"] is not None else ""))
    print(f"Wrote {os.path.join(args.out, 'report.md')}")
    return 0


def add_study(commands: argparse._SubParsersAction) -> None:
    study = commands.add_parser("study", help="build a blinded reader-study kit from a run")
    study_commands = study.add_subparsers(dest="study_command", required=True)
    add_study_build(study_commands)


def add_study_build(study_commands: argparse._SubParsersAction) -> None:
    study_build = study_commands.add_parser("build", help="reader/ (reading.html, images, template) + key/ "
                                                          "(answer_key.csv, study.json, leak_audit.csv)")
    study_build.add_argument("--run", required=True, help="run directory")
    study_build.add_argument("--steps", "--step", type=_int_list, metavar="STEP[,STEP...]",
                             help="checkpoint step(s) of the modifications, shared evenly, e.g. 35000,70000 for "
                                  "the paper's experiment 2 (default: the latest)")
    study_build.add_argument("--layout", required=True, choices=tuple(LAYOUTS),
                             help="exp1: 30 original + 30 modified, 20 pairs and 20 alone; exp2: 12 healthy + "
                                  "12 cancer cases, each as a pair and once alone (72 images)")
    source = study_build.add_mutually_exclusive_group()
    source.add_argument("--data", help="prepared dataset, both domains of --split (default: the one the run was "
                                       "trained on, as run.json records it)")
    source.add_argument("--input", help="a folder with healthy/ and cancer/ subfolders of images, or a prepared "
                                        "dataset")
    study_build.add_argument("--split", default="eval", choices=("train", "eval"),
                             help="split of a prepared input (eval; train: the generator's own training images)")
    study_build.add_argument("--out", required=True, help="new or empty folder for the kit")
    study_build.add_argument("--seed", type=int, default=42,
                             help="draws sources, order, pair sides and steps (42); IDs are new on every build")
    study_build.add_argument("--cases", type=int, metavar="N",
                             help="source images per label, proportions kept (default: exp1 20, exp2 12)")
    study_build.add_argument("--batch-size", type=_positive_int, default=4)
    study_build.add_argument("--lock-ratings", action="store_true",
                             help="the reading page keeps readers from changing a screen's ratings once they leave "
                                  "it (recorded in study.json)")
    study_build.add_argument("--background", choices=("source", "generator"), default="source",
                             help="source (default): modified images take the source's pixels outside the breast, "
                                  "so only breast tissue differs; generator: the generator's whole frame, as the "
                                  "paper's readers saw it (the source's padding kept)")
    study_build.add_argument("--format", choices=("png", "dicom"), default="png",
                             help="png (default): the reading page's 16-bit PNGs; dicom: also reader/dicom/<id>.dcm, "
                                  "the same pixels as blind mammography DICOMs for a clinical viewer (DICOM sources)")
    study_build.set_defaults(handler=_study_build)


def _study_build(args) -> int:
    from cyclegan.analysis.readers.study import build_study

    record = build_study(args.run, args.layout, args.input or args.data, args.out, args.seed, steps=args.steps,
                         split=args.split, cases=args.cases, batch_size=args.batch_size,
                         lock_ratings=args.lock_ratings, background=args.background, image_format=args.format)
    for warning in record["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for warning in record["leak_warnings"]:
        print(f"warning: {warning} (see {os.path.join(args.out, 'key', 'leak_audit.csv')})", file=sys.stderr)
    steps = ", ".join(map(str, record["steps"]))
    print(f"Wrote study {record['study']}: {record['images']} images on {record['screens']} screens "
          f"({record['modified']} modified, step {steps}): give readers {os.path.join(args.out, 'reader')}; keep "
          f"{os.path.join(args.out, 'key', 'answer_key.csv')} from them")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: each command's options come from its `add_<command>`, listed in this order."""
    parser = argparse.ArgumentParser(prog="python -m cyclegan", description=(
        "BreastGAN CycleGAN (Becker et al., arXiv 1811.07767) in Keras 3: prepare data, train, inspect."))
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in (add_phantom, add_prepare, add_preview, add_train, add_translate, add_artifacts, add_detect,
                        add_summary, add_bench, add_readout, add_reproduce, add_study):
        add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if args.command not in WITHOUT_TENSORFLOW:
        start_tensorflow_quietly()
        threads.configure()
    from cyclegan.errors import ConfigError, DiskFullError, NonFiniteLossError, is_disk_full

    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_NON_FINITE
    except DiskFullError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DISK_FULL
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:
        if not is_disk_full(err):
            raise
        print(f"error: no space left on the device: {err}", file=sys.stderr)
        return EXIT_DISK_FULL
