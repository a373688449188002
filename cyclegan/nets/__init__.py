"""The networks, as the originals built them.

  layers         Conv (with spectral norm), InstanceNorm, reflection padding, ICNR: small Keras layers
  instance_norm  instance norm's arithmetic two ways, and which is faster on this machine
  networks       the ResNet generator and PatchGAN discriminator, and the variant tables config names
"""
