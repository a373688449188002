"""The CycleGAN: four networks, their losses and one training step in each update order.

  model          the keras.Model: networks, pools, optimizers, `train_step`, the checkpointed state
  update_orders  the three update orders (alternating, sequential, joint) as a table
  losses         the loss terms as pure functions
  pool           the history pools (three rules)
  adam           Adam with TF1's shared bias-correction counter
  schedules      the learning rate: constant, then linear decay
  precision      mixed precision policies and loss scaling
"""
