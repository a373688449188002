"""Speed: how fast a step is, and where its time goes (docs/speed.md has the figures).

  bench       `bench`: steps per second against a plain Keras step and the machine's peak
  flops       the FLOPs of one step, from the networks' layer shapes
  op_profile  profiler traces summed by op type
"""
