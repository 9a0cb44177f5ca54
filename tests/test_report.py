"""What a run tells its reader, in-process on small texts: report.md's settings table (the
machine row) and how losses are written in messages and the report."""

import math
import platform
import re

import pytest

from charrnn import _core, report
from charrnn.cli import main
from charrnn.losses import format_loss

FAST = ["--m", "10", "--seq-length", "10", "--quiet", "--no-gradcheck", "--sample-length", "20",
        "--passage-length", "30"]


def table_row(text, name):
    """The value of report.md's settings-table row `name`."""
    for line in text.splitlines():
        if line.startswith(f"| {name} | "):
            return line[len(f"| {name} | "):-2]
    raise AssertionError(f"no row {name!r} in:\n{text}")


@pytest.mark.parametrize("arch, expected", [
    ("x86-64-v3", "x86-64-v3: AVX2, FMA"),
    ("x86-64-v4", "x86-64-v4: AVX-512, AVX2, FMA"),
    ("native", "native: every instruction set of the CPU it was built on"),
])
def test_the_core_build_is_named_by_its_level(monkeypatch, arch, expected):
    """Not Eigen's list, which on an x86-64-v3 build reads "AVX SSE, SSE2, ..." (neither AVX2
    nor FMA)."""
    monkeypatch.setattr(_core, "ARCH", arch)
    monkeypatch.setattr(_core, "SIMD", "AVX SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2")
    assert report.core_build() == expected


def test_a_portable_build_names_its_baseline(monkeypatch):
    monkeypatch.setattr(_core, "ARCH", "portable")
    monkeypatch.setattr(_core, "SIMD", "SSE, SSE2")
    assert report.core_build() == "portable: SSE, SSE2 (the compiler's baseline)"


def test_the_cpu_model_comes_from_cpuinfo_else_platform(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                       "model name\t: Intel(R) Xeon(R)  Platinum 8481C CPU @ 2.70GHz\n\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(cpuinfo if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert report.cpu_model() == "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"
    cpuinfo.write_text("processor\t: 0\nfeatures\t: fp asimd\n")  # no model name (e.g. ARM)
    monkeypatch.setattr(platform, "processor", lambda: "arm")
    assert report.cpu_model() == "arm"


def test_the_report_names_the_cpu_and_the_build(tmp_path, text_file):
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--steps", "20", "--out", str(out), *FAST]) == 0
    row = table_row((out / "report.md").read_text(), "machine")
    assert report.cpu_model() in row
    assert f"core built for {report.core_build()}" in row and row.endswith(report.core_build())
    assert "SSE4.2" not in row


def test_settings_changed_on_resume_are_rows_of_the_table(tmp_path, text_file):
    """A blank line before them would end the table and leave them as loose text."""
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--steps", "20", "--out", str(out), *FAST]) == 0
    assert main(["train", "--resume", str(out), "--steps", "30", "--eta", "0.05", "--quiet",
                 "--no-gradcheck"]) == 0
    lines = (out / "report.md").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| changed on resume"))
    assert lines[at - 1].startswith("| machine | ")


@pytest.mark.parametrize("value, decimals, text", [
    (47.365, 3, "47.365"), (49.2151, 3, "49.215"), (1.89462, 4, "1.8946"), (108.3, 2, "108.30"),
    (0.05, 3, "0.050"), (0.0, 3, "0.000"), (999_999.0, 3, "999999.000"),
    (9.15e99, 3, "9.15e+99"), (1.234567e6, 4, "1.235e+06"), (2e300, 1, "2.00e+300"),
    (5e-4, 3, "5.00e-04"), (math.nan, 3, "nan"), (math.inf, 3, "inf"),
])
def test_format_loss(value, decimals, text):
    assert format_loss(value, decimals) == text


LONG_NUMBER = re.compile(r"\d{10,}\.\d")  # a loss in full: "19880891767754821739...1040.0"


def test_huge_losses_are_printed_readably(tmp_path, text_file, capsys):
    """The issue's run: --eta 1e200 --sig 1e100 stops at update 2 (exit 3); its message gave
    the limit as a 100-digit number."""
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--eta", "1e200", "--sig", "1e100", "--steps", "1000",
                 "--out", str(out), *FAST]) == 3
    err = capsys.readouterr().err
    assert "times the first loss" in err and "e+" in err and not LONG_NUMBER.search(err), err


def test_a_run_with_huge_losses_reports_them_readably(tmp_path, text_file, capsys):
    """Losses ~1e7 per sequence that stay below the divergence limit: the closing line,
    samples.txt, report.md and `charrnn evaluate` write them as 1.23e+07."""
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--sig", "1e5", "--eta", "1e-12", "--steps", "30",
                 "--sample-every", "10", "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert main(["evaluate", str(out), str(text_file)]) == 0
    printed += capsys.readouterr().out
    texts = {"stdout": printed, "samples.txt": (out / "samples.txt").read_text(),
             "report.md": (out / "report.md").read_text()}
    for name, text in texts.items():
        assert "e+0" in text and not LONG_NUMBER.search(text), (name, text)
    assert re.search(r"\| smooth loss \| \d\.\d\de\+0\d now", texts["report.md"])
