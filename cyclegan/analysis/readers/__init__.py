"""Reader studies: a blinded kit from a run, the page readers rate it in, and the analysis of their ratings.

  design, study, page, audit  `study build`: which images and how (the paper's two layouts), the kit
                              folder, its self-contained reading page, and the leak audit;
  kit_dicom                   the kit as DICOM too (`--format dicom`)
  files                       the answer key, one reader's responses, the template, problems found
  roc, mrmc                   ROC AUC with DeLong's tests; multi-reader multi-case ROC (Obuchowski-Rockette, Hillis df)
  readout, results, report    `readout analyze`: ratings against the key -> results -> table.md, JSON, ROC plots
"""
