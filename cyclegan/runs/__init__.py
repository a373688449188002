"""The run folder: what training writes and every later command reads.

  rundir       its layout: config.json, checkpoints/, tensorboard/; resuming and refusing a mismatch
  checkpoints  what a checkpoint holds, when it is due, writing it, and reading it back
  runlock      one trainer per run folder
  translate    images through a run's generators at any kept step (`translate`); dicom_out: `--dicom`
"""
