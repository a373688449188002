"""Grid artefacts of a run's translations.

Modules:
  metrics   the grid-artefact scores (`cpr_db`, `tile_rms`) and where the paper saw grid patterns appear
  report    `artifacts`: the scores checkpoint by checkpoint against the real images, as CSV, JSON and plot
  detector  `detect`: an automated reader, how detectable the modifications are checkpoint by checkpoint
"""
