"""The paper's reader AUCs, the one place they are checked against the paper's own text.

Every other test takes the paper's values from `PAPER_TABLES`. The text is the abstract of Becker
et al., arXiv 1811.07767v1 (19 Nov 2018); the per-reader tables are the paper's Results. The
journal version (Eur J Radiol 120:108649, 2019) reports a different, MRMC-pooled analysis and is
not what these tables hold.
"""

import re

from cyclegan.analysis.readers.report import PAPER_TABLES

ABSTRACT_RESULTS = (
    "At the lower resolution, only one radiologist exhibited markedly lower detection of cancer "
    "(AUC=0.85 vs 0.63, p=0.06), while the other two were unaffected (0.67 vs. 0.69 and 0.75 vs. "
    "0.77, p=0.55). Only one radiologist could discriminate between original and modified images "
    "slightly better than guessing/chance (0.66, p=0.008). At the higher resolution, all "
    "radiologists showed significantly lower detection rate of cancer in the modified images "
    "(0.77-0.84 vs. 0.59-0.69, p=0.008), however, they were now able to reliably detect modified "
    "images due to better visibility of artifacts (0.92, 0.92 and 0.97)."
)
LOW, HIGH = ABSTRACT_RESULTS.split("At the higher resolution")


def _aucs(text: str) -> list[float]:
    """The AUCs of a passage in order: its numbers 0.xx, p-values left out."""
    return [float(value) for value in re.findall(r"\b0\.\d\d\b", re.sub(r"p=0\.\d+", "", text))]


def test_exp1_matches_the_abstract_reader_by_reader():
    readers = PAPER_TABLES["exp1"].readers
    affected, rest = LOW.split("while the other two")
    unaffected, detection = rest.split("Only one radiologist could")
    assert _aucs(affected) == [readers[0].original, readers[0].modified]
    # The abstract pairs the other two readers' values by size (0.67 with 0.69, 0.75 with 0.77);
    # the tables pair them by reader (0.75 / 0.67, 0.77 / 0.69). The four values agree.
    assert sorted(_aucs(unaffected)) == sorted(value for reader in readers[1:]
                                               for value in (reader.original, reader.modified))
    [better_than_chance] = _aucs(detection)
    assert max(reader.detection[0] for reader in readers) == better_than_chance == readers[0].detection[0]


def test_exp2_matches_the_abstracts_ranges_and_detection():
    readers = PAPER_TABLES["exp2"].readers
    ranges = re.search(r"\((0\.\d\d)-(0\.\d\d) vs\. (0\.\d\d)-(0\.\d\d)", HIGH).groups()
    original_low, original_high, modified_low, modified_high = map(float, ranges)
    assert (min(r.original for r in readers), max(r.original for r in readers)) == (original_low, original_high)
    assert (min(r.modified for r in readers), max(r.modified for r in readers)) == (modified_low, modified_high)
    assert all(r.modified < r.original for r in readers)  # "all radiologists showed ... lower detection"
    # The abstract gives one detection AUC per reader over both steps; the tables give early and late.
    pooled = _aucs(HIGH.split("visibility of artifacts")[1])
    assert len(pooled) == len(readers) == 3 and PAPER_TABLES["exp2"].detection_columns == ("early", "late")
    means = [sum(r.detection) / 2 for r in readers]
    assert all(min(pooled) <= mean <= max(pooled) for mean in means)
