"""Data: raw sources -> preprocessed TFRecord shards + manifest.json -> tf.data pipelines.

Modules, one job each:
  items            what a source yields (SourceItem, SkippedFile, Pixels) and the domain names
  tables           reading the datasets' CSV tables by column name
  image_files      reading DICOM / PNG / TIFF files into arrays
  png_bytes        PNG bytes <-> arrays, as records store images and masks
  outlines         lesion outlines (polygons, single points) drawn into masks
  labels           the rules of a preparation: INbreast labels, BCDR labels, masks
  inbreast         the INbreast source: AllDICOMs/, AllXML/ (OsiriX ROIs), INbreast.csv
  bcdr             the BCDR source (D01, D02): *_img.csv, *_outlines.csv, TIFFs
  cbis             the CBIS-DDSM source: case-description CSVs and the DICOM tree
  folder           the "any folder" source: <root>/healthy, <root>/cancer, optional <root>/masks
  sources          registry KIND -> source class, parsing "KIND:PATH"
  selection        which found images are kept: --views, --exclude
  preprocess       per-image geometry and intensity: label blanking, orientation, resize (fit or stretch), 16 bits
  synthetic_masks  experiment 2's synthetic lesion blobs for images without an annotation
  process_images   one found image -> prepared 16-bit image and mask, in worker processes if asked
  augment          augmented copies: rotation, per-axis scale, contrast
  split            train / eval split by image or by patient
  records          TFRecord example encoding, shard writing and reading
  manifest         what manifest.json holds
  recipes          named preparation settings: exp1, exp1-paper, exp2
  prepare          orchestration: sources -> selection -> process_images -> split -> shards + manifest
  dataset          a prepared dataset as everything after preparation reads it: validated manifest,
                   counts, size, shards, epoch length, fingerprint
  pipeline         tf.data input pipelines for training and fixed eval images; shard checks
  inputs           images to translate: a prepared split, or raw files preprocessed as prepare does
  preview          contact sheet of a prepared dataset
  phantom          synthetic mammography phantom in the any-folder layout

Phantoms in the INbreast, BCDR and CBIS-DDSM layouts, for the tests and benchmarks, are in
tests/data/phantom_layouts.py.
"""
