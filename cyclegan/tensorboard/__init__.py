"""What TensorBoard shows of a run.

  dashboard   every tag's description and the order of the panels
  panels      the image panels: input, translation, cycle, difference, spectrum
  eventfiles  reading a run's event files back
"""
