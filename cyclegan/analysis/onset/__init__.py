"""The onset study (`reproduce`): where, in steps, grid artefacts appear, arm by arm and seed by seed.

  plan    the plan file: arms (a shipped config plus overrides), scale, steps, seeds, cadence, onset rule
  scores  held-out translations' scores at both lattice periods, the real band, the detection limit
  runner  trains the arms as ordinary run folders side by side, resumes, scores every checkpoint
  report  onsets by the rule, results.csv, onset.json, figures and report.md
  study   `reproduce` from end to end: runner, then report
"""
