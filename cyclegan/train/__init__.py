"""`train`: a config and a prepared dataset become a run folder.

  training      plan the schedule, build the model under a strategy, resume, fit
  callbacks     between steps: non-finite guard, scalars, image panels, checkpoints, progress
  distribution  which tf.distribute strategy a run uses and which worker writes
"""
