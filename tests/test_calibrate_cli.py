"""Issue 27's calibrate points: a mistyped folder is named at once (before any data is read, so no
wait on the Hub), the fix names today's `hf download`, and `--max-samples` makes a quick run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nercore.runfolder.records import Calibration
from tiny_models import build_overconfident_bert
from toolkit.cli import main

TINY = Path(__file__).parent / "data" / "tiny_conll"


def test_a_missing_folder_is_named_before_the_data_is_read(tmp_path, monkeypatch, capsys):
    def never(*_args, **_kwargs):  # reading a Hub dataset id is where the ~25 s went
        raise AssertionError("the data was read before the folder was checked")

    monkeypatch.setattr("toolkit.commands.calibrate.load_data", never)
    assert main(["calibrate", str(tmp_path / "runs" / "typo"), "--dataset", "conll2003"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'runs' / 'typo'} is not a local folder" in err
    assert "`hf download ID --local-dir DIR`" in err and "huggingface-cli" not in err


@pytest.mark.parametrize("max_samples", [2])
def test_max_samples_reads_the_first_n_sentences_of_each_split(tmp_path, max_samples, capsys):
    run = Path(shutil.copytree(build_overconfident_bert(tmp_path / "built"), tmp_path / "run"))
    assert main(["calibrate", str(run), "--dataset", str(TINY), "--max-samples", str(max_samples), "--no-progress"]) == 0
    record = Calibration.read(run, required=True)
    assert {name: r["num_sentences"] for name, r in record.readings.items()} == {"validation": max_samples, "test": max_samples}
    assert "--max-samples 2" in record.command
