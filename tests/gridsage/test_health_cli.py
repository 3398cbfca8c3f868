"""``gridsage health``: the transformer and dga commands on a local Typer app, text and JSON, CSV input, the plot
and input errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gridsage.cli.health import health_app
from gridsage.tools.equipment.dga import DgaResult
from gridsage.tools.equipment.transformer_thermal import transformer_thermal

pytestmark = pytest.mark.usefixtures("workspace")

app = typer.Typer()
app.add_typer(health_app)
runner = CliRunner()

#: 25/37.5/37.5 % CH4/C2H4/C2H2: Duval zone D2; H2, C2H4 and C2H2 above IEEE C57.104 Table 1 (O2/N2 <= 0.2)
ARCING = ["--h2", "400", "--ch4", "40", "--c2h6", "10", "--c2h4", "60", "--c2h2", "60"]
DAY = "0.6,0.6,0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3,1.3,1.2,1.1,1.0,0.9,0.8"


def health(*args: str):
    return runner.invoke(app, ["health", *args])


def test_dga_text_shows_each_gas_the_status_the_zone_and_the_citations():
    done = health("dga", *ARCING, "--co", "300")
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "Table 1 level [ppm]" in text and "CO " in text and text.count("above") >= 3
    assert "status 2 or 3" in text
    assert "zone D2" in text and "high-energy discharge" in text
    assert "IEEE C57.104-2019 Table 1" in text and "IEC 60599-2015 Annex B" in text
    assert "O2/N2 ratio unknown" in text  # the note, since --o2-n2-ratio was not given


def test_dga_json_is_the_tool_result():
    done = health("dga", *ARCING, "--o2-n2-ratio", "0.1", "--format", "json")
    assert done.exit_code == 0, done.output
    result = DgaResult.model_validate(json.loads(done.stdout))
    assert result.status == "above_90th_percentile" and result.duval_zone == "D2"
    assert {g.gas for g in result.gases if g.above} == {"H2", "C2H4", "C2H2"}
    assert result.citations and result.evidence_id.startswith("ev-")


def test_transformer_with_a_load_list_and_gases_prints_thermal_and_health():
    done = health("transformer", "--load", DAY, "--interval-min", "60", "--ambient", "30", *ARCING,
                  "--age-years", "25", "--maintenance-hours", "3")
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "Transformer thermal" in text and "hot-spot θ_H" in text and "top oil θ_TO" in text
    assert "120" in text and "105" in text and "IEEE C57.91-2011 Loading types" in text  # the normal limits, cited
    assert "F_EQA" in text and "loss of life" in text and "Time to limit" in text
    assert "Health index" in text and "Components" in text and "failure risk" in text
    for component in ("thermal", "dga", "age"):
        assert f"│ {component}" in text  # a row of the components table
    assert "Maintenance window: 0 h .. 3 h" in text  # the 0.6 pu trough at the start
    assert "IEEE C57.104-2019 Table 1" in text  # the DGA citations follow the health index


def test_transformer_json_has_both_results():
    done = health("transformer", "--load", DAY, "--interval-min", "60", *ARCING, "-f", "json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["thermal"]["intervals"] == 16 and document["thermal"]["limits"][0]["upper"] == 120
    assert 0 <= document["health"]["health_index"] <= 100
    assert [c["name"] for c in document["health"]["components"]] == ["thermal", "dga"]
    assert health("transformer", "--load", DAY, "--interval-min", "60", "-f", "json").stdout.count('"health": null') == 1


def test_the_iec_method_is_chosen_on_the_command_line_and_its_limits_cited():
    """At rated load from steady state a unit sits at ambient + rated top-oil rise + rated hot-spot gradient,
    20 + 55 + 25 = 100 degC, whichever model (IEC 60076-7 and IEEE C57.91 share the rated rises)."""
    done = health("transformer", "--load", "1,1,1,1", "--interval-min", "60", "--ambient", "20",
                  "--method", "iec_60076_7", "-f", "json")
    assert done.exit_code == 0, done.output
    thermal = json.loads(done.stdout)["thermal"]
    assert thermal["method"] == "iec_60076_7" and thermal["peak_hot_spot_c"] == pytest.approx(100.0, abs=0.01)
    assert {limit["citation"]["standard"] for limit in thermal["limits"]} == {"IEC 60076-7"}
    text = health("transformer", "--load", "0.7,0.7,1.3,1.3", "--interval-min", "60", "--cooling", "ONAF").stdout
    assert "IEEE C57.91 Clause 7" in text and "with load" in text  # the top-oil time constant moves with the load


def test_dga_text_shows_the_combined_verdict_and_each_method():
    done = health("dga", *ARCING)
    assert done.exit_code == 0, done.output
    assert "Combined verdict: D2" in done.stdout and "Each method's reading" in done.stdout
    for method in ("duval_triangle_1", "duval_pentagon_1", "iec_gas_ratios"):
        assert method in done.stdout


def test_transformer_from_csv_with_ambient_column_and_projection(tmp_path):
    loads = [float(x) for x in DAY.split(",")]
    ambient = [20 + i for i in range(len(loads))]
    profile = tmp_path / "day.csv"
    profile.write_text("time,load_pu,temp_c\n" + "".join(f"{i:02d}:00,{k},{a}\n" for i, (k, a) in enumerate(zip(loads, ambient))))
    ahead = tmp_path / "ahead.csv"
    ahead.write_text("load_pu\n" + "1.35\n" * 12)
    done = health("transformer", "--load-csv", str(profile), "--ambient-col", "temp_c", "--interval-min", "60",
                  "--projected-csv", str(ahead), "--loading-type", "planned", "--cooling", "ONAF", "-f", "json")
    assert done.exit_code == 0, done.output
    thermal = json.loads(done.stdout)["thermal"]
    direct = transformer_thermal(loads, ambient, 60, cooling="ONAF", loading_type="planned", projected_load_pu=[1.35] * 12)
    assert thermal["peak_hot_spot_c"] == direct.peak_hot_spot_c and thermal["feqa"] == pytest.approx(direct.feqa)
    assert thermal["time_to_limit_h"] == direct.time_to_limit_h
    assert thermal["rating"]["cooling"] == "ONAF" and thermal["limits"][0]["name"] == "hot_spot_planned"
    text = health("transformer", "--load-csv", str(profile), "--load-col", "load_pu", "--interval-min", "60")
    assert text.exit_code == 0 and "16 × 60 min = 16 h" in text.stdout
    assert "no ambient given: 30 °C" in text.stderr


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "thermal.png"
    done = health("transformer", "--load", DAY, "--interval-min", "60", "--projected", "1.3,1.3,1.3,1.3",
                  "--plot", str(picture))
    assert done.exit_code == 0, done.output
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    assert "plot written to" in done.stderr


def test_bad_inputs_exit_2_naming_the_field_and_the_fix(tmp_path):
    done = health("transformer", "--load", "1.0,nan,1.0", "--interval-min", "60")
    assert done.exit_code == 2 and "load_pu[1]" in done.output and "Fix:" in done.output
    assert done.stdout == ""  # errors go to stderr
    gap = tmp_path / "gap.csv"
    gap.write_text("load_pu\n1.0\n\n0.9\nn/a\n")
    done = health("transformer", "--load-csv", str(gap), "--interval-min", "60")
    assert done.exit_code == 2 and "--load-col" in done.output and "line 5" in done.output and "Fix:" in done.output
    done = health("transformer", "--load", DAY, "--interval-min", "60", "--h2", "10")
    assert done.exit_code == 2 and "--ch4" in done.output and "Fix:" in done.output
    done = health("transformer", "--interval-min", "60")
    assert done.exit_code == 2 and "--load" in done.output and "Fix:" in done.output
    done = health("dga", *ARCING[:-1], "-1")
    assert done.exit_code == 2 and "c2h2_ppm" in done.output and "Fix:" in done.output


def _flat(text: str) -> str:
    """Help text without the panel borders and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def test_help_teaches_the_standards_and_an_example():
    done = health("--help")
    assert done.exit_code == 0
    flat = _flat(done.output)
    assert "IEEE C57.91-2011" in flat and "IEEE C57.104-2019" in flat and "IEC 60599:2015" in flat
    assert "gridsage health transformer --load" in flat
    options = _flat(health("transformer", "--help").output)
    assert "[pu of rated]" in options and "[min]" in options and "gridsage[plot]" in options
