"""Reader studies: a blinded kit from a run, the page readers rate it in, and the analysis of their ratings.

Modules:
  design   which images a study shows and how (the paper's two layouts), without any pixels
  study    `study build`: the kit folder (reader images, reading page, answer key, leak audit)
  page     reading.html, the self-contained page readers rate a kit in
  audit    leak audit: does a simple image statistic tell modified from original?
  files    the answer key, one reader's responses, the blank responses template, problems found
  roc      ROC AUC with DeLong's variance and tests
  mrmc     multi-reader multi-case ROC (Obuchowski–Rockette with Hillis' df)
  results  what a readout found: the result dataclasses that readout makes and report writes
  readout  `readout analyze`: each reader's ratings against the key -> AUCs and tests, MRMC
  report   the readout's table.md, table.csv, results.json and ROC plots
"""
