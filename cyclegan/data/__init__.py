"""Data: raw sources -> `prepare` -> TFRecord shards + manifest.json -> tf.data pipelines.

  sources/       the four dataset readers (sources/__init__ lists them); items: what a reader yields
  prepare        the orchestration, with recipes, labels, selection, preprocess, synthetic_masks,
                 process_images, augment, split, records and manifest as its steps; skip_reasons: its summary
  dataset        a prepared dataset as everything after preparation reads it (manifest, counts, shards)
  pipeline       training batches and fixed eval images; inputs: images to translate, prepared or raw
  preview, phantom  a contact sheet; the built-in phantom (tests/data/phantom_layouts.py has the others)
  source_geometry, derived_dicom  a frame back at its source's geometry; a derived DICOM's header
Shared helpers: image_files (DICOM / PNG / TIFF), png_bytes (PNG <-> arrays), mammogram_dicom (writing MG DICOM).
"""
