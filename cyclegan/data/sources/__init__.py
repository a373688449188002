"""The raw datasets, one reader each, in their own layouts.

  inbreast  AllDICOMs/, AllXML/ (OsiriX ROIs), INbreast.csv
  bcdr      BCDR D01/D02: *_img.csv, *_outlines.csv, TIFFs
  cbis      CBIS-DDSM: case-description CSVs and the DICOM tree
  folder    any folder: <root>/healthy, <root>/cancer, optional <root>/masks
  registry  KIND -> reader, and parsing "KIND:PATH"; tables and outlines are the readers' helpers
"""
