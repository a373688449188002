"""Reader-study analysis: simulated readers, the paper's tables, problem reporting, file formats, figures
clustered by source, the layout warning."""

import csv
import dataclasses
import json
from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from cyclegan import cli
from cyclegan.analysis.readers.files import read_answer_key, read_responses, write_responses_template
from cyclegan.analysis.readers.mrmc import mrmc_roc, mrmc_single, single_p_value
from cyclegan.analysis.readers.readout import analyze
from cyclegan.analysis.readers.report import PAPER_TABLES
from cyclegan.analysis.readers.roc import auc_ci_clustered

CUTS = np.array([-0.5, 0.4, 1.2, 2.0])  # latent thresholds between ratings 1|2|3|4|5
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXP1_PAPER, EXP2_PAPER = PAPER_TABLES["exp1"].readers, PAPER_TABLES["exp2"].readers  # checked in test_paper_tables


def _category_probabilities(shift: float) -> np.ndarray:
    """P(rating = 1..5) for a latent N(shift, 1) cut at CUTS."""
    return np.diff(np.concatenate([[0.0], norm.cdf(CUTS - shift), [1.0]]))


def true_auc(separation: float) -> float:
    """Population AUC (ties one half) of binormal ratings: positives N(separation, 1), negatives N(0, 1)."""
    positive, negative = _category_probabilities(separation), _category_probabilities(0.0)
    above = sum(positive[i] * negative[j] for i, j in product(range(5), repeat=2) if i > j)
    return float(above + 0.5 * positive @ negative)


def write_study(folder, sources_per_label=150, steps=("",), words=True, paired=True):
    """answer_key.csv for sources_per_label healthy and cancer sources, each shown original and modified
    at every step (paired=False: originals and modifications come from different sources)."""
    rows = []
    for label, index in product((0, 1), range(sources_per_label)):
        source = f"{'hc'[label]}{index}"
        rows.append({"id": f"o-{source}", "source": source, "label": label, "modified": 0, "direction": "",
                     "step": "", "pair_id": f"p-{source}"})
        modified_source = source if paired else f"{source}-other"
        for step in steps:
            rows.append({"id": f"m{step}-{source}", "source": modified_source, "label": label, "modified": 1,
                         "direction": "c2h" if label else "h2c", "step": step, "pair_id": f"p-{source}"})
    key = pd.DataFrame(rows)
    if words:
        key["label"] = key["label"].map({0: "healthy", 1: "Cancer"})
        key["modified"] = key["modified"].map({0: "no", 1: "YES"})
    path = folder / "answer_key.csv"
    key.to_csv(path, index=False)
    return path


def simulate_reader(key_path, path, seed, original, modified, detection, source_effect=0.0):
    """Responses of a binormal reader: malignancy shifted by `original` / `modified` (in latent SDs) for
    cancer sources on original / modified images; the modified rating shifted by `detection` on modified images.
    `source_effect`: SD of a latent shift shared by all images of a source, in both ratings."""
    key = read_answer_key(key_path)
    rng = np.random.default_rng(seed)
    malignancy_shift = np.where(key["modified"], modified, original) * key["label"]
    malignancy, detected = rng.normal(malignancy_shift), rng.normal(detection * key["modified"])
    sources = key["source"].str.removesuffix("-other")
    shared = pd.Series(rng.normal(scale=source_effect, size=sources.nunique()), index=sources.unique())[sources]
    ratings = pd.DataFrame({
        "id": key.index,
        "malignancy": np.digitize(malignancy + shared.to_numpy(), CUTS) + 1,
        "modified": np.digitize(detected + shared.to_numpy(), CUTS) + 1,
    }).sample(frac=1.0, random_state=seed)
    ratings.to_csv(path, index=False)
    return path


READERS = [(1.6, 0.7, 1.0), (1.0, 0.2, 0.0), (2.2, 1.2, 2.0)]  # (original, modified, detection) separations


def _simulated(tmp_path, readers=READERS, **study):
    key = write_study(tmp_path, **study)
    responses = [simulate_reader(key, tmp_path / f"R{index + 1}.csv", index, *separations)
                 for index, separations in enumerate(readers)]
    return key, responses


def test_simulated_readers_recover_the_true_aucs(tmp_path):
    # Each 95 % CI misses with probability 0.05, so the seeds are fixed; test_roc checks the CIs' coverage.
    key, responses = _simulated(tmp_path)
    readout = analyze(key, responses, tmp_path / "out")
    assert readout.analysed and not readout.problems
    for reader, separations in zip(readout.readers, READERS):
        assert reader.cases == 600
        for name, separation in zip(("original", "modified", "detection"), separations):
            auc = reader.sets[name].auc
            assert auc.ci_low < true_auc(separation) < auc.ci_high, (reader.reader, name)
        assert reader.comparison.paired and reader.comparison.cases == 300
        assert reader.comparison.result.auc_1 == pytest.approx(reader.sets["original"].auc.auc)
    chance = [reader.sets["detection"].chance for reader in readout.readers]
    assert chance[0].p_value < 1e-6 and chance[2].p_value < 1e-6 and chance[1].p_value > 0.05
    assert readout.readers[2].comparison.result.p_value < 0.05  # 2.2 vs 1.2 SD on 300 paired sources


def test_cli_writes_exp1_table_with_paper_values_and_plots(tmp_path, capsys):
    key, responses = _simulated(tmp_path, sources_per_label=20)
    out = tmp_path / "out"
    args = ["readout", "analyze", "--key", str(key), "--responses", *map(str, responses), "--out", str(out)]
    assert cli.main(args + ["--paper", "exp1"]) == 0
    markdown = (out / "table.md").read_text()
    for value in (value for reader in EXP1_PAPER for value in (reader.original, reader.modified, *reader.detection)):
        assert f"| {value:.2f} |" in markdown
    assert "paper reader i" in markdown
    table = pd.read_csv(out / "table.csv", dtype={"paper_reader": "Int64"})
    assert table["reader"].tolist() == ["R1", "R2", "R3", "all readers (MRMC)"]
    assert table["paper_reader"].tolist()[:3] == [1, 2, 3] and pd.isna(table["paper_reader"][3])
    assert (out / "table.csv").read_text().splitlines()[1].startswith("R1,1,80,")  # whole numbers stay whole
    assert table[["original_paper", "modified_paper", "detection_paper"]].head(3).values.tolist() == [
        [reader.original, reader.modified, *reader.detection] for reader in EXP1_PAPER]
    results = json.loads((out / "results.json").read_text())
    assert results["readers"][0]["sets"]["original"]["auc"] == pytest.approx(table["original_auc"][0], abs=1e-4)
    plots = sorted(out.glob("roc_*.png"))
    assert [path.name for path in plots] == ["roc_1_R1.png", "roc_2_R2.png", "roc_3_R3.png"]
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in plots)
    assert (out / "problems.csv").read_text().strip() == "reader,file,id,row,problem,detail"
    assert "table.md" in capsys.readouterr().out


def test_exp2_detection_per_step_beside_early_and_late(tmp_path):
    key, responses = _simulated(tmp_path, sources_per_label=12, steps=(35000, 70000), words=False)
    readout = analyze(key, responses, tmp_path / "out", paper="exp2")
    table = pd.read_csv(tmp_path / "out" / "table.csv").head(3)
    assert table[["detection_step_35000_paper", "detection_step_70000_paper"]].values.tolist() == [
        list(reader.detection) for reader in EXP2_PAPER]
    assert table[["original_paper", "modified_paper"]].values.tolist() == [
        [reader.original, reader.modified] for reader in EXP2_PAPER]
    assert set(readout.mrmc.sets) == {"original", "modified", "detection", "detection_step_35000",
                                      "detection_step_70000"}
    step_set = readout.readers[0].sets["detection_step_70000"]
    assert (step_set.truth.sum(), (1 - step_set.truth).sum()) == (24, 24)  # that step's modifications vs all originals
    assert "AUC detecting modification, step 35000" in (tmp_path / "out" / "table.md").read_text()


def test_one_step_against_exp2_shows_both_paper_detection_values(tmp_path):
    key, responses = _simulated(tmp_path, sources_per_label=12)
    analyze(key, responses, tmp_path / "out", paper="exp2")
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    early, late = EXP2_PAPER[1].detection
    assert table["detection_paper"][1] == f"{early:.2f} (early) / {late:.2f} (late)"


def test_unpaired_test_when_no_source_is_shown_both_ways(tmp_path):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=30, paired=False)
    comparison = analyze(key, responses, tmp_path / "out").readers[0].comparison
    assert not comparison.paired and comparison.cases == 120


def test_label_words_and_numbers_give_the_same_results(tmp_path):
    results = []
    for words in (True, False):
        folder = tmp_path / str(words)
        folder.mkdir()
        key, responses = _simulated(folder, readers=READERS[:1], sources_per_label=20, words=words)
        results.append(analyze(key, responses, folder / "out").readers[0].sets["modified"].auc)
    assert results[0] == results[1]


def _write_rows(path, rows, header=("id", "malignancy", "modified")):
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_problems_are_reported_by_id_and_stop_the_analysis(tmp_path, capsys):
    key, (responses,) = _simulated(tmp_path, readers=READERS[:1], sources_per_label=10)
    rows = list(csv.reader(responses.open()))[1:]
    rows = [row for row in rows if row[0] != "o-h3"]  # missing case
    ids = [row[0] for row in rows]
    rows[ids.index("o-h1")][1] = "7"  # out of range
    rows[ids.index("o-c2")][2] = ""  # not rated
    rows[ids.index("m-c4")][1] = "2.5"  # not a whole rating
    rows += [["nobody", "3", "3"], rows[ids.index("m-h5")]]  # unknown id, duplicate
    _write_rows(responses, rows)
    out = tmp_path / "out"
    args = ["readout", "analyze", "--key", str(key), "--responses", str(responses), "--out", str(out)]
    assert cli.main(args) == cli.EXIT_BAD_INPUT
    problems = pd.read_csv(out / "problems.csv", keep_default_na=False)
    assert sorted(zip(problems["id"], problems["problem"])) == [
        ("m-c4", "bad rating"), ("m-h5", "duplicate id"), ("m-h5", "duplicate id"), ("nobody", "unknown id"),
        ("o-c2", "bad rating"), ("o-h1", "bad rating"), ("o-h3", "missing case")]
    assert set(problems["reader"]) == {"R1"}
    err = capsys.readouterr().err
    assert all(ident in err for ident in ("o-h3", "o-h1", "o-c2", "m-c4", "nobody", "m-h5"))
    assert "--allow-incomplete" in err and not (out / "table.md").exists()

    assert cli.main(args + ["--allow-incomplete"]) == 0
    table = pd.read_csv(out / "table.csv")
    assert table["images"][0] == 40 - 5  # o-h3, o-h1, o-c2, m-c4, m-h5 left out
    assert "7 problem(s)" in (out / "table.md").read_text()

    assert cli.main(args) == cli.EXIT_BAD_INPUT  # a failing rerun leaves no earlier table or plot behind
    assert not (out / "table.md").exists() and not list(out.glob("roc_*.png"))


def test_template_lists_the_ids_and_reads_back(tmp_path):
    key_path = write_study(tmp_path, sources_per_label=3)
    key = read_answer_key(key_path)
    template = write_responses_template(list(key.index), tmp_path / "responses_template.csv", "")
    blank = read_responses(template, key)
    assert [problem.id for problem in blank.problems] == [ident for ident in key.index for _ in range(2)]
    filled = pd.read_csv(template).assign(malignancy=3, modified=1, reader="Dr A")
    filled.to_csv(template, index=False)
    responses = read_responses(template, key)
    assert responses.reader == "Dr A" and not responses.problems and len(responses.ratings) == 12


@pytest.mark.parametrize("edit, message", [
    (lambda key: key.assign(label=key["label"].replace("Cancer", "maybe")), "label='maybe' (id 'o-c0')"),
    (lambda key: key.assign(modified=key["modified"].replace("YES", "perhaps")), "modified='perhaps'"),
    (lambda key: pd.concat([key, key.head(1)]), "id 'o-h0' appears 2 times"),
    (lambda key: key.drop(columns="source"), "missing column(s) source"),
])
def test_answer_key_errors_exit_2(tmp_path, capsys, edit, message):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=3)
    edit(pd.read_csv(key, dtype=str, keep_default_na=False)).to_csv(key, index=False)
    args = ["readout", "analyze", "--key", str(key), "--responses", *map(str, responses), "--out", str(tmp_path)]
    assert cli.main(args) == cli.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("role", ["--key", "--responses"])
@pytest.mark.parametrize("content, message", [
    (PNG_MAGIC + bytes(range(256)), "not a CSV text file (not UTF-8 at byte 0)"),
    (b"id,malignancy,modified\n1,2,3\n4,5,6,7,8\n", "not a readable CSV table (Error tokenizing data"),
    (b"id,malignancy,modified\n1,2,3,4,5\n", "rows have more fields than the header's 3 columns"),
])
def test_a_file_that_is_not_csv_text_exits_2_naming_it(tmp_path, capsys, role, content, message):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=3)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(content)
    files = {"--key": [str(key)], "--responses": [str(path) for path in responses], role: [str(broken)]}
    args = ["readout", "analyze", "--key", *files["--key"], "--responses", *files["--responses"], "--out",
            str(tmp_path / "out")]
    assert cli.main(args) == cli.EXIT_BAD_INPUT
    assert f"error: {broken}: {message}" in capsys.readouterr().err


def test_two_files_with_one_reader_name_are_an_error(tmp_path):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=3)
    other = tmp_path / "other"
    other.mkdir()
    copy = other / responses[0].name
    copy.write_text(responses[0].read_text())
    with pytest.raises(ValueError, match="reader name"):
        analyze(key, [responses[0], copy], tmp_path / "out")


def _direct_mrmc_inputs(key_path, response_paths):
    """Scores (2, readers, sources) of mean malignancy on originals / modified per source, and labels,
    read straight from the files: an independent assembly of what the MRMC comparison analyses."""
    key = pd.read_csv(key_path, dtype=str)
    key["cancer"] = key["label"].str.lower().isin(["1", "cancer"]).astype(int)
    key["is_modified"] = key["modified"].str.lower().isin(["1", "yes"])
    means = []
    for path in response_paths:
        rated = key.merge(pd.read_csv(path, dtype={"id": str}), on="id")
        means.append(rated.groupby(["is_modified", "source"])["malignancy"].mean().unstack(0).dropna())
    sources = sorted(set.intersection(*(set(frame.index) for frame in means)))
    scores = np.stack([[frame.loc[sources, condition].to_numpy() for frame in means] for condition in (False, True)])
    return scores, key.groupby("source")["cancer"].first().loc[sources].to_numpy()


def test_all_readers_get_an_mrmc_row_comparison_and_json(tmp_path):
    key, responses = _simulated(tmp_path, sources_per_label=40)
    readout = analyze(key, responses, tmp_path / "out")
    mrmc = readout.mrmc
    assert mrmc.readers == ("R1", "R2", "R3") and mrmc.images == 160
    assert mrmc.comparison.sources == 80
    expected = mrmc_roc(*_direct_mrmc_inputs(key, responses))
    result = mrmc.comparison.result
    assert result.reader_auc == pytest.approx(expected.reader_auc, abs=1e-12)
    assert (result.f_stat, result.p_value) == pytest.approx((expected.f_stat, expected.p_value), rel=1e-9)
    paired_aucs = [reader.comparison.result.auc_1 for reader in readout.readers]
    assert result.mean_auc[0] == pytest.approx(np.mean(paired_aucs))  # same sources as each reader's paired test
    detection = mrmc.sets["detection"]
    assert detection.cases == 160 and detection.positives == 80
    assert detection.result.ci_low < detection.result.auc < detection.result.ci_high
    assert detection.p_vs_chance == pytest.approx(single_p_value(detection.result))

    table = pd.read_csv(tmp_path / "out" / "table.csv")
    row = table.iloc[-1]
    assert row["reader"] == "all readers (MRMC)" and row["images"] == 160
    assert row["original_vs_modified_test"] == "OR-Hillis" and row["original_vs_modified_cases"] == 80
    assert row["original_vs_modified_f"] == pytest.approx(result.f_stat, abs=1e-4)
    assert row["original_vs_modified_df"] == pytest.approx(result.df_denominator, abs=1e-4)
    assert row["original_vs_modified_fixed_readers_p"] == pytest.approx(result.fixed_readers_p_value, abs=1e-4)
    assert row["detection_ci_low"] == pytest.approx(detection.result.ci_low, abs=1e-4)
    assert row["original_auc"] == pytest.approx(mrmc.sets["original"].result.auc, abs=1e-4)

    results = json.loads((tmp_path / "out" / "results.json").read_text())["mrmc"]
    assert results["readers"] == ["R1", "R2", "R3"] and results["method"].startswith("Obuchowski-Rockette")
    comparison = results["original_vs_modified"]
    assert comparison["sources"] == 80 and comparison["df_denominator"] == pytest.approx(result.df_denominator)
    assert comparison["mean_auc"]["original"] == pytest.approx(result.mean_auc[0])
    assert comparison["single"]["modified"]["ci_high"] == pytest.approx(result.single[1].ci_high)
    assert results["sets"]["detection"]["p_vs_chance"] == pytest.approx(detection.p_vs_chance)

    markdown = (tmp_path / "out" / "table.md").read_text()
    assert "| all readers (MRMC) |" in markdown
    assert f"F(1, {result.df_denominator:.1f})" in markdown and "Originals vs modified across readers" in markdown


def _partly_paired_study(folder, paired_sources=("h0", "h1", "c0", "c1")):
    """12 healthy and 12 cancer sources, each shown original and modified; only `paired_sources` have
    their modification from the same source (like the paper's pairs), the others from another one."""
    key_path = write_study(folder, sources_per_label=12, paired=False)
    key = pd.read_csv(key_path, dtype=str, keep_default_na=False)
    for source in paired_sources:
        key.loc[key["source"] == f"{source}-other", "source"] = source
    key.to_csv(key_path, index=False)
    return key_path


def test_each_test_prints_the_aucs_it_compares(tmp_path):
    key = _partly_paired_study(tmp_path)
    responses = [simulate_reader(key, tmp_path / f"R{index + 1}.csv", index + 10, *separations)
                 for index, separations in enumerate(READERS[:2])]
    readout = analyze(key, responses, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    markdown = (tmp_path / "out" / "table.md").read_text()
    for index, reader in enumerate(readout.readers):
        result = reader.comparison.result
        assert reader.comparison.paired and reader.comparison.cases == 4
        assert table["original_vs_modified_auc_original"][index] == pytest.approx(result.auc_1, abs=1e-4)
        assert table["original_vs_modified_auc_modified"][index] == pytest.approx(result.auc_2, abs=1e-4)
        assert f"| {result.auc_1:.2f} vs {result.auc_2:.2f}: z = " in markdown
        assert "(DeLong, paired, 4 sources)" in markdown
    first = readout.readers[0]
    assert round(first.comparison.result.auc_1, 2) != round(first.sets["original"].auc.auc, 2)  # the point of it
    mrmc = readout.mrmc.comparison
    assert mrmc.sources == 4
    assert f"| {mrmc.result.mean_auc[0]:.2f} vs {mrmc.result.mean_auc[1]:.2f}: F(1, " in markdown


def test_too_few_shared_pairs_leave_the_mrmc_comparison_out(tmp_path):
    key = _partly_paired_study(tmp_path, paired_sources=("h0", "c0"))
    responses = [simulate_reader(key, tmp_path / f"R{index + 1}.csv", index, *separations)
                 for index, separations in enumerate(READERS[:2])]
    readout = analyze(key, responses, tmp_path / "out")
    assert readout.mrmc.comparison is None and not readout.readers[0].comparison.paired
    assert set(readout.mrmc.sets) == {"original", "modified", "detection"}
    assert "not analysed, because fewer than 2 healthy and 2 cancer sources" in (
        tmp_path / "out" / "table.md").read_text()
    assert json.loads((tmp_path / "out" / "results.json").read_text())["mrmc"]["original_vs_modified"] is None


def test_one_reader_has_no_mrmc(tmp_path):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=10)
    readout = analyze(key, responses, tmp_path / "out")
    assert readout.mrmc is None
    assert pd.read_csv(tmp_path / "out" / "table.csv")["reader"].tolist() == ["R1"]
    assert json.loads((tmp_path / "out" / "results.json").read_text())["mrmc"] is None
    assert "MRMC" not in (tmp_path / "out" / "table.md").read_text()


def _rated_images(key_path, response_path) -> pd.DataFrame:
    """One row per rated image, read straight from the files: source, label, is_modified, step, the two ratings."""
    key = pd.read_csv(key_path, dtype=str, keep_default_na=False)
    key["label"] = key["label"].str.lower().isin(["1", "cancer"]).astype(int)
    key["is_modified"] = key["modified"].str.lower().isin(["1", "yes"]).astype(int)
    ratings = pd.read_csv(response_path, dtype={"id": str}).rename(columns={"modified": "rated_modified"})
    return key.drop(columns="modified").merge(ratings, on="id")


def test_by_source_figures_take_the_key_s_source_as_the_cluster(tmp_path):
    key, responses = _simulated(tmp_path, readers=READERS[:2], sources_per_label=15, steps=(35000, 70000),
                                words=False)
    readout = analyze(key, responses, tmp_path / "out")
    images = _rated_images(key, responses[0])
    plans = {"original": (images[images["is_modified"] == 0], "label", "malignancy"),
             "modified": (images[images["is_modified"] == 1], "label", "malignancy"),
             "detection": (images, "is_modified", "rated_modified"),
             "detection_step_70000": (images[images["step"].isin(["", "70000"])], "is_modified", "rated_modified")}
    reader = readout.readers[0]
    for name, (rows, truth, score) in plans.items():
        expected = auc_ci_clustered(rows[truth], rows[score], rows["source"])
        assert reader.sets[name].by_source == pytest.approx(expected, rel=1e-12), name
    assert reader.sets["modified"].by_source.clusters == 30 and reader.sets["detection"].by_source.clusters == 30
    assert reader.sets["original"].by_source.variance == pytest.approx(reader.sets["original"].auc.variance)

    table = pd.read_csv(tmp_path / "out" / "table.csv")
    modified, detection = reader.sets["modified"].by_source, reader.sets["detection"].by_source
    assert table["modified_ci_low_by_source"][0] == pytest.approx(modified.ci_low, abs=1e-4)
    assert table["modified_ci_high_by_source"][0] == pytest.approx(modified.ci_high, abs=1e-4)
    assert table["modified_sources"][0] == 30 and "modified_p_vs_chance_by_source" not in table
    assert table["detection_step_70000_p_vs_chance_by_source"][0] == pytest.approx(
        reader.sets["detection_step_70000"].by_source.p_vs_chance, abs=1e-4)
    assert pd.isna(table["modified_ci_low_by_source"].iloc[-1])  # the MRMC row: its CI is already by source
    markdown = (tmp_path / "out" / "table.md").read_text()
    assert "| 95 % CI (by source) |" in markdown and "| p vs 0.5 (by source) |" in markdown
    assert f"| {modified.ci_low:.2f}–{modified.ci_high:.2f} |" in markdown and "Obuchowski's (1997)" in markdown
    sets = json.loads((tmp_path / "out" / "results.json").read_text())["readers"][0]["sets"]
    assert sets["detection"]["by_source"] == pytest.approx({
        "sources": 30, "auc": detection.auc, "variance": detection.variance, "ci_low": detection.ci_low,
        "ci_high": detection.ci_high, "z_vs_chance": detection.z_vs_chance, "p_vs_chance": detection.p_vs_chance})
    assert "p_vs_chance" not in sets["original"]["by_source"]


def test_mrmc_leaves_out_one_source_with_all_its_images(tmp_path):
    key, responses = _simulated(tmp_path, sources_per_label=15, steps=(35000, 70000), words=False)
    readout = analyze(key, responses, tmp_path / "out")
    rated = [_rated_images(key, path).set_index("id").sort_index() for path in responses]
    everything = rated[0]
    for name, images, truth, score in (("modified", everything[everything["is_modified"] == 1], "label", "malignancy"),
                                       ("detection", everything, "is_modified", "rated_modified")):
        scores = np.stack([reader.loc[images.index, score].to_numpy(float) for reader in rated])
        expected = mrmc_single(scores, images[truth].to_numpy(), clusters=images["source"].to_numpy())
        result = readout.mrmc.sets[name].result
        assert dataclasses.astuple(result) == pytest.approx(dataclasses.astuple(expected), rel=1e-12), name
        assert result.se != pytest.approx(mrmc_single(scores, images[truth].to_numpy()).se, rel=1e-3), name


def test_by_source_cis_are_wider_when_a_source_s_images_are_rated_alike(tmp_path):
    key = write_study(tmp_path, sources_per_label=40, steps=(35000, 70000))
    response = simulate_reader(key, tmp_path / "R1.csv", 0, 1.6, 0.7, 1.0, source_effect=1.5)
    sets = analyze(key, [response], tmp_path / "out").readers[0].sets
    modified = sets["modified"]  # each source's two modifications, of one label: positively correlated
    assert modified.by_source.variance > 1.3 * modified.auc.variance
    assert modified.by_source.ci_high - modified.by_source.ci_low > modified.auc.ci_high - modified.auc.ci_low


def _with_layout(key_path, layout):
    key = pd.read_csv(key_path, dtype=str, keep_default_na=False)
    key.assign(layout=layout).to_csv(key_path, index=False)
    return key_path


@pytest.mark.parametrize("layout, paper, warned", [
    ("exp1", "exp2", True), ("exp2", "exp1", True), ("exp1", "exp1", False), ("exp2", "exp2", False),
    ("exp1", None, False), ("", "exp2", False), (None, "exp2", False),
])
def test_paper_of_the_other_layout_is_a_warning(tmp_path, layout, paper, warned):
    key, responses = _simulated(tmp_path, readers=READERS[:1], sources_per_label=8)
    if layout is not None:
        _with_layout(key, layout)
    readout = analyze(key, responses, tmp_path / "out", paper=paper)
    expected = (f"--paper {paper} sets the paper's {paper} values beside a study whose answer key has layout "
                f"{layout}",) if warned else ()
    assert readout.warnings == expected
    markdown = (tmp_path / "out" / "table.md").read_text()
    assert ("**Warning:** " + expected[0] in markdown) if warned else "Warning" not in markdown
    assert json.loads((tmp_path / "out" / "results.json").read_text())["warnings"] == list(expected)


def test_the_layout_warning_comes_back_when_problems_stop_the_analysis(tmp_path):
    key, (responses,) = _simulated(tmp_path, readers=READERS[:1], sources_per_label=4)
    _with_layout(key, "exp2")
    _write_rows(responses, list(csv.reader(responses.open()))[2:])  # without its first rating: a missing case
    readout = analyze(key, [responses], tmp_path / "out", paper="exp1")
    assert not readout.analysed and readout.warnings and "layout exp2" in readout.warnings[0]
