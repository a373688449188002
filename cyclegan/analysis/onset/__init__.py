"""The onset study (`reproduce`): where, in steps, grid artefacts appear, arm by arm and seed by seed.

Modules:
  plan     the plan file: arms (a shipped config plus overrides), scale, steps, seeds, cadence, onset rule
  scores   the artefact scores of held-out translations at both lattice periods, the real images' band,
           and the smallest injected lattice the score detects
  runner   trains the arms as ordinary run folders side by side, resumes, scores every checkpoint
  report   onsets by the rule, results.csv, onset.json, figures and report.md
"""
