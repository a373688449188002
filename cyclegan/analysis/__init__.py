"""Analysis of trained runs, in three rooms:

  artifacts/  grid artefacts: the checkpoint-by-checkpoint report (`artifacts`) and the automated
              detector (`detect`)
  onset/      the reproduction study (`reproduce`): many runs of several arms, the step where each
              one's grid appears, and the report
  readers/    reader studies: the blinded kit (`study build`), its reading page, and the readout of
              the readers' ratings (ROC / DeLong per reader, MRMC over all readers)
  grouped_cv  the source-grouped cross-validated classifier the detector and the kit's audit share
"""
