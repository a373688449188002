"""BreastGAN in Keras 3: the way an image takes, raw DICOM to reader study, and the folder of each stop.

  data/         raw sources (INbreast, BCDR, CBIS-DDSM, any folder, the phantom) -> `prepare` -> TFRecord shards
  config        the experiment's settings (experiments/*.json): one dataclass tree, saved with the run
  nets/ gan/    the networks; the CycleGAN's losses, pools, Adam and update orders (`summary`)
  train/        `train`: fit, callbacks, strategies, into a run folder (runs/) that TensorBoard (tensorboard/) reads
  runs/         the run folder, its checkpoints, and translating from any step (`translate`)
  analysis/     grid artefacts (`artifacts`, `detect`), onset study (`reproduce`), reader studies (`study`, `readout`)
  runtime/ perf/  start-up, threads, the machine; `bench`, FLOPs and profiles
Every folder reads the few modules here: config, errors, domains, grid_scores, display; cli is the command line.
"""
