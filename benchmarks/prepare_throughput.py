"""Throughput of `prepare` on full-size mammograms, in images per second.

Writes N phantom mammograms in the INbreast layout at INbreast's size (4084 x 3328 pixels, 16-bit
DICOMs with 14 bits stored, plus ROI files and INbreast.csv; not timed), then times one
`prepare_dataset` run over them end to end: listing, reading, label and ROI handling,
preprocessing, worker start-up, splitting and writing the shards and manifest. The DICOMs were
just written, so they are read from the page cache: disk speed is not part of the figure.
Run it from the repository root (the INbreast layout is written by tests.data.phantom_layouts):

    .venv/bin/python -m benchmarks.prepare_throughput --images 16 --workers 2 --size 256x256

Prints one JSON object: images, workers, size, seconds, images_per_second.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

HEIGHT, WIDTH = 4084, 3328  # INbreast's full-field digital mammograms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="256x256", help="prepared HEIGHTxWIDTH (exp1 256x256, exp2 512x408)")
    args = parser.parse_args()
    # Imported here, not at module level: worker processes re-import this script as their main
    # module, and should not load TensorFlow (which prepare.py's shard writing needs) for nothing.
    from cyclegan.data.prepare import prepare_dataset
    from cyclegan.data.recipes import resolve
    from tests.data.phantom_layouts import write_inbreast

    size = tuple(int(side) for side in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "INbreast"
        write_inbreast(raw, args.images, seed=0, height=HEIGHT, width=WIDTH)
        start = time.perf_counter()
        manifest = prepare_dataset([f"inbreast:{raw}"], resolve(size=size, label_rule="birads3"),
                                   Path(scratch) / "prepared", workers=args.workers, progress=False)
        seconds = time.perf_counter() - start
    images = sum(sum(counts.values()) for counts in manifest["original_counts"].values())
    if images != args.images:
        raise SystemExit(f"only {images} of {args.images} images were prepared: {manifest['skipped']}")
    print(json.dumps({"images": images, "workers": args.workers, "input": f"{HEIGHT}x{WIDTH} 16-bit DICOM",
                      "size": args.size, "seconds": round(seconds, 2),
                      "images_per_second": round(images / seconds, 2)}))


if __name__ == "__main__":
    main()
