"""`pm KIND import`: CSV and JSON files naming records by code, every row checked before
anything is written, an error naming its line, progress on stderr only without --json;
on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pm_db.cli import main
from pm_db.services import entities
from tests.conftest import Studio
from tests.helpers import row_counts


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_files_with_codes_make_a_show(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequences = tmp_path / "sequences.csv"
    sequences.write_text("project,code\nFX3X,SQ020\nfx3x,SQ030\n", encoding="utf-8")
    shots = tmp_path / "shots.csv"
    shots.write_text(
        "project,sequence,code,frame_start,frame_end\n"
        "FX3X,SQ020,SH010,1001,1050\n"
        "FX3X,sq030,SH020,,\n",
        encoding="utf-8",
    )
    tasks = tmp_path / "tasks.csv"
    tasks.write_text(
        "project,shot,asset,step,artist,status\n"
        "FX3X,SQ020/SH010,,fx,jdoe,wip\n"
        "FX3X,SQ030/SH020,,lighting,,\n"
        "FX3X,,Rock,model,JDOE,\n",
        encoding="utf-8",
    )
    for kind, path in (("sequence", sequences), ("shot", shots), ("task", tasks)):
        code, out, err = pm(capsys, kind, "import", str(path), "--json")
        assert (code, err) == (0, ""), err
        assert json.loads(out)["data"]["created"] in (2, 3)
    made = entities.list_(studio.db, "task", project_id=studio.project_id)
    assert sorted((t.step, t.status) for t in made)[-3:] == [
        ("fx", "wip"),
        ("lighting", "todo"),
        ("model", "todo"),
    ]
    shot = entities.find(
        studio.db,
        "shot",
        "SH010",
        sequence_id=entities.find(studio.db, "sequence", "SQ020", project_id=studio.project_id).id,
    )
    assert (shot.frame_start, shot.frame_end) == (1001, 1050)


def test_json_rows_take_codes_too(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = tmp_path / "assets.json"
    assets.write_text(
        json.dumps([{"project": "FX3X", "code": "Tree", "type": "prop"}]), encoding="utf-8"
    )
    code, out, err = pm(capsys, "asset", "import", str(assets), "--json")
    assert code == 0, err
    assert json.loads(out)["data"]["created"] == 1


@pytest.mark.parametrize(
    ("rows", "field", "exit_code"),
    [
        ("FX3X,SQ010/SH010,,fx2,jdoe\nFX3X,SQ010/SH999,,fx3,jdoe\n", "line 3.shot", 3),
        ("FX3X,SQ010/SH010,,fx2,nobody\n", "line 2.artist", 3),
        ("FX3X,SQ010/SH010,,fx2,jdoe\nFX3X,SQ010/SH010,,fx2,jdoe\n", "line 3.name", 4),
        ("FX3X,SQ010/SH010,,fx2,jdoe\nFX3X,SQ010/SH010,,Not A Step!,jdoe\n", "line 3.step", 2),
    ],
)
def test_one_bad_row_writes_nothing_and_names_its_line(
    studio: Studio,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: str,
    field: str,
    exit_code: int,
) -> None:
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("project,shot,asset,step,artist\n" + rows, encoding="utf-8")
    before = row_counts(studio.db)
    code, out, err = pm(capsys, "task", "import", str(tasks), "--json")
    assert code == exit_code, err
    assert json.loads(out)["error"]["field"] == field
    assert err.startswith(f"pm: error: {field}: ") and err.count("\n") == 1
    assert row_counts(studio.db) == before


def test_a_csv_row_with_more_cells_than_the_header_is_refused(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artists = tmp_path / "artists.csv"
    artists.write_text("login,name\namy,Amy,extra\n", encoding="utf-8")
    code, _, err = pm(capsys, "artist", "import", str(artists))
    assert code == 2 and err.startswith("pm: error: line 2: has more cells than the header")
