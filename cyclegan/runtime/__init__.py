"""The process and the machine it runs on.

  startup  TensorFlow started without its start-up notices
  threads  how the CPU's cores are shared (CYCLEGAN_CPU_THREADS)
  machine  the CPU or GPU, in words, for every measurement
"""
