"""Grid artefacts of a run's translations (the scores themselves: cyclegan/grid_scores.py).

  report    `artifacts`: the scores checkpoint by checkpoint against the real images, as CSV, JSON and plot
  detector  `detect`: an automated reader, how detectable the modifications are checkpoint by checkpoint
"""
