"""Data: raw sources -> preprocessed TFRecord shards + manifest.json -> tf.data pipelines.

Modules, one job each:
  items        what a source yields (SourceItem, SkippedFile) and the domain names
  image_files  reading DICOM / PNG / TIFF files into arrays
  folder       the "any folder" source: <root>/healthy, <root>/cancer, optional <root>/masks
  sources      registry KIND -> source class, parsing "KIND:PATH"
  preprocess   per-image geometry and intensity: orientation, standardisation, resize, pad
  records      TFRecord example encoding, shard writing and parsing
  prepare      orchestration: read sources, preprocess, split, write shards and manifest
  pipeline     tf.data input pipelines for training and fixed eval images
  phantom      synthetic mammography phantom in the any-folder layout
"""
