"""Checking a user's own implementation (charrnn.check): a correct numpy vanilla RNN written as a
student would passes; planted bugs (a missing tanh', a transposed dW, h_t where h_{t-1} belongs)
fail and are named in the table; the file route (write_case, then gradients read back from
.npz or .mat) round-trips through `charrnn check`, and bad files end in a one-line error."""

import subprocess
import sys

import numpy as np
import pytest
from charrnn import _core, reference
from charrnn.check import check_case, check_gradients, write_case
from charrnn.gradcheck import compare, format_table

TEXT = "the cat sat on the mat; the dog ate the hat.\n"
SMALL = dict(m=5, seq_length=8, text=TEXT)  # K = 15


def student_rnn(params, inputs, targets, h0, bug=None):
    """min-char-rnn's lossFun with the assignment's names, and a planted bug if asked."""
    W, U, V, b, c = (params[name] for name in "WUVbc")
    hs, ps, loss = {-1: h0}, {}, 0.0
    for t in range(len(inputs)):
        a = W @ hs[t - 1] + U[:, inputs[t]] + b
        hs[t] = np.tanh(a)
        o = V @ hs[t] + c
        p = np.exp(o - o.max())
        ps[t] = p / p.sum()
        loss -= np.log(ps[t][targets[t]])
    grads = {"d" + name: np.zeros_like(params[name]) for name in "WUVbc"}
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(inputs))):
        d_o = ps[t].copy()
        d_o[targets[t]] -= 1
        grads["dV"] += np.outer(d_o, hs[t])
        grads["dc"] += d_o
        dh = V.T @ d_o + dh_next
        da = dh * 1 if bug == "tanh" else dh * (1 - hs[t] ** 2)
        grads["db"] += da
        h_prev = hs[t] if bug == "time" else hs[t - 1]
        grads["dW"] += np.outer(h_prev, da) if bug == "transpose" else np.outer(da, h_prev)
        grads["dU"][:, inputs[t]] += da
        dh_next = W.T @ da
    return loss, grads


def rows(report):
    """tensor -> PASS/FAIL as the table shows it."""
    table = format_table(report)
    return table_rows(table)


def table_rows(table):
    return {
        line.split()[0]: line.split()[-1]
        for line in table.splitlines()
        if line.split()
        and line.split()[0] in tuple("WUVbc")
        and line.split()[-1] in ("PASS", "FAIL")
    }


def test_a_correct_implementation_passes(capsys):
    report = check_gradients(student_rnn, **SMALL)
    assert report["passed"] is True
    assert list(report)[:5] == ["W", "U", "V", "b", "c"]
    for name in "WUVbc":
        assert report[name]["max_abs_diff_ref"] < 1e-12, name
        assert report[name]["norm_rel_err_fd"] < 1e-8, name
    settings = report["settings"]
    assert settings["K"] == len(set(TEXT)) and settings["side"] == "your code"
    assert settings["loss_abs_diff"] < 1e-12
    table = capsys.readouterr().out  # printed by default
    assert table == format_table(report) + "\n"
    assert "gradient check (your code): rnn x1 K=15 m=5 T=8" in table
    assert "fd: vs central differences of your loss" in table and "overall: PASS" in table
    assert rows(report) == dict.fromkeys("WUVbc", "PASS")


@pytest.mark.parametrize(
    "bug,failing",
    [
        ("tanh", {"W", "U", "b"}),  # da = dh instead of dh * (1 - h^2)
        ("transpose", {"W"}),  # dW = h_{t-1} da^T
        ("time", {"W"}),  # dW += da h_t^T
    ],
)
def test_planted_bugs_are_caught_and_named(bug, failing):
    report = check_gradients(lambda *args: student_rnn(*args, bug=bug), verbose=False, **SMALL)
    assert report["passed"] is False
    assert rows(report) == {name: "FAIL" if name in failing else "PASS" for name in "WUVbc"}
    for name in failing:  # both the native gradient and your own loss disagree with yours
        assert report[name]["max_abs_diff_ref"] > 1e-6, name
        assert report[name]["norm_rel_err_fd"] > 1e-4, name
    assert report["settings"]["loss_abs_diff"] < 1e-12  # the forward pass is right


def test_the_worst_entry_is_named_with_both_values(tmp_path):
    report = check_gradients(
        lambda *args: student_rnn(*args, bug="transpose"), verbose=False, **SMALL
    )
    case = write_case(tmp_path / "case.npz", **SMALL)
    params = reference.Params(_core.layout(15, 5))
    for name in params:
        params[name] = case[name]
    true = reference.forward_backward(params, case["x"], case["y"], case["h0"]).grads["W"]
    worst = report["W"]["worst_ref"]
    i, j = worst["index"]
    # Yours at [i, j] is the true gradient at [j, i]; charrnn's is the true one at [i, j].
    assert worst["analytic"] == pytest.approx(true[j, i], rel=1e-12, abs=1e-15)
    assert worst["numeric"] == pytest.approx(true[i, j], rel=1e-12, abs=1e-15)
    assert abs(true[i, j] - true[j, i]) == pytest.approx(np.max(np.abs(true - true.T)))
    table = format_table(report)
    assert f"W[{i}, {j}]" in table and f"{worst['analytic']:.10e}" in table
    assert "indices from 0" in table


def test_compare_names_the_worst_entry():
    a = {"W": np.array([[1.0, 2.0], [3.0, 4.0]]), "c": np.array([0.0, np.nan, 1.0])}
    b = {"W": np.array([[1.0, 2.5], [3.0, 3.9]]), "c": np.array([0.0, 0.0, 2.0])}
    err = compare(a, b, worst=True)
    assert err["W"]["worst"] == {"index": [0, 1], "analytic": 2.0, "numeric": 2.5}
    assert err["c"]["worst"]["index"] == [1]  # a NaN is the worst
    assert "worst" not in compare(a, b)["W"]


def test_the_function_gets_the_case_of_write_case(tmp_path):
    seen = {}

    def spy(params, inputs, targets, h0):
        seen.setdefault("args", (params, inputs, targets, h0))
        return student_rnn(params, inputs, targets, h0)

    report = check_gradients(spy, verbose=False, **SMALL)
    case = write_case(tmp_path / "case.npz", **SMALL)
    params, inputs, targets, h0 = seen["args"]
    for name in "WUVbc":
        assert np.array_equal(params[name], case[name]), name
    assert np.array_equal(inputs, case["x"]) and np.array_equal(targets, case["y"])
    assert np.array_equal(h0, case["h0"]) and h0.shape == (5,) and np.any(h0 != 0)
    assert float(case["loss"]) == report["settings"]["loss_native"]
    K, T = case["X"].shape
    assert (K, T) == (15, 8) and np.array_equal(case["X"], np.eye(K)[:, case["x"]])
    assert np.array_equal(case["Y"], np.eye(K)[:, case["y"]])


def test_lstm_stack_gets_c0_and_layer_states():
    layout = _core.layout(15, 3, cell="lstm", layers=2)

    def numpy_lstm(params, inputs, targets, h0, c0):
        assert h0.shape == c0.shape == (2, 3)
        p = reference.Params(layout)
        for name in p:
            p[name] = params[name]
        result = reference.forward_backward(p, inputs, targets, h0, c0)
        return result.loss, dict(result.grads.items())

    report = check_gradients(
        numpy_lstm,
        cell="lstm",
        layers=2,
        m=3,
        seq_length=5,
        text=TEXT,
        order=2,
        h=1e-5,
        verbose=False,
    )  # order 2: half the calls
    assert report["passed"] is True and report["settings"]["order"] == 2
    assert [name for name in report if name not in ("settings", "passed")] == [
        e["name"] for e in layout
    ]


def test_what_fn_returns_is_checked():
    with pytest.raises(TypeError, match=r"\(loss, grads\)"):
        check_gradients(lambda *args: student_rnn(*args)[1], verbose=False, **SMALL)

    def without_dV(*args):
        loss, grads = student_rnn(*args)
        del grads["dV"]
        return loss, grads

    with pytest.raises(ValueError, match="no dV"):
        check_gradients(without_dV, verbose=False, **SMALL)

    def transposed_dU(*args):
        loss, grads = student_rnn(*args)
        return loss, {**grads, "dU": grads["dU"].T}

    with pytest.raises(ValueError, match=r"dU has shape \(15, 5\), expected \(5, 15\) \(transp"):
        check_gradients(transposed_dU, verbose=False, **SMALL)
    with pytest.raises(ValueError, match="smaller than the text's vocabulary"):
        check_gradients(student_rnn, K=3, verbose=False, **SMALL)


# --- the file route ----------------------------------------------------------------------------


def charrnn(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "charrnn", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def gradients_of(case, bug=None):
    """What a user's code in another language does with a case: read it, compute, save."""
    params = {
        name: case[name].reshape(case[name].shape[0], -1).squeeze(-1)
        if name in "bc"
        else case[name]
        for name in "WUVbc"
    }
    x, y = case["x"].reshape(-1), case["y"].reshape(-1)
    loss, grads = student_rnn(params, x, y, case["h0"].reshape(-1), bug=bug)
    return {**grads, "loss": loss}


def assert_one_line_error(result, *words):
    """Exit 1 and one line of ours, the last (an editable install's rebuild may log above it)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("charrnn: error: "), result.stderr
    assert sum(line.startswith("charrnn") for line in result.stderr.splitlines()) == 1
    for word in words:
        assert word in last, (word, result.stderr)


def test_write_case_and_check_round_trip_through_npz(tmp_path):
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")
    result = charrnn(
        "check", "--write-case", "case.npz", "text.txt", "--m", 5, "--seq-length", 8, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "case.npz: rnn x1, K=15 m=5 T=8" in result.stdout and "dW dU dV db dc" in result.stdout
    with np.load(tmp_path / "case.npz") as data:
        case = dict(data)
    assert set(case) == {
        "W",
        "U",
        "V",
        "b",
        "c",
        "X",
        "Y",
        "x",
        "y",
        "h0",
        "loss",
        "cell",
        "layers",
        "seed",
        "sig",
    }
    assert case["U"].shape == (5, 15) and case["X"].shape == (15, 8) and str(case["cell"]) == "rnn"

    np.savez(tmp_path / "good.npz", **gradients_of(case))
    np.savez(tmp_path / "bad.npz", **gradients_of(case, bug="time"))
    good = charrnn("check", "case.npz", "good.npz", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "gradient check (your file): rnn x1 K=15 m=5 T=8" in good.stdout
    assert "overall: PASS" in good.stdout and "loss: yours" in good.stdout
    bad = charrnn("check", "case.npz", "bad.npz", cwd=tmp_path)
    assert bad.returncode == 1 and "overall: FAIL" in bad.stdout
    assert table_rows(bad.stdout) == {
        "W": "FAIL",
        "U": "PASS",
        "V": "PASS",
        "b": "PASS",
        "c": "PASS",
    }
    assert "W[" in bad.stdout  # the worst entry of W


def test_check_case_reads_arrays_by_name_and_without_a_loss(tmp_path):
    case = write_case(tmp_path / "case.npz", **SMALL)
    grads = gradients_of(case)
    del grads["loss"]
    grads = {name[1:]: g for name, g in grads.items()}  # W, U, ... as a MATLAB struct saves them
    report = check_case(case, grads)
    assert report["passed"] is True and report["settings"]["loss_yours"] is None
    assert "yours not given" in format_table(report)
    assert check_case(tmp_path / "case.npz", grads)["W"] == report["W"]


def scipy_io():
    try:
        import scipy.io
    except ImportError:
        return None
    return scipy.io


def test_mat_files_round_trip_or_say_how_to_get_scipy(tmp_path):
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")
    result = charrnn(
        "check", "--write-case", "case.mat", "text.txt", "--m", 5, "--seq-length", 8, cwd=tmp_path
    )
    io = scipy_io()
    if io is None:
        assert_one_line_error(result, "case.mat", "scipy", "pip install scipy")
        return
    assert result.returncode == 0, result.stderr
    case = io.loadmat(str(tmp_path / "case.mat"))
    assert case["b"].shape == (5, 1) and case["h0"].shape == (5, 1)  # MATLAB's columns
    grads = gradients_of(case)
    io.savemat(str(tmp_path / "grads.mat"), grads, oned_as="column")
    good = charrnn("check", "case.mat", "grads.mat", cwd=tmp_path)
    assert good.returncode == 0 and "overall: PASS" in good.stdout, good.stdout + good.stderr
    io.savemat(str(tmp_path / "bad.mat"), gradients_of(case, bug="tanh"), oned_as="row")
    assert charrnn("check", "case.mat", "bad.mat", cwd=tmp_path).returncode == 1


def test_without_scipy_a_mat_file_is_a_one_line_error(tmp_path):
    write_case(tmp_path / "case.npz", **SMALL)
    (tmp_path / "grads.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "from charrnn.cli import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "check", "case.npz", "grads.mat"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert_one_line_error(result, "grads.mat", "pip install scipy")


def test_importing_charrnn_does_not_import_scipy():
    code = (
        "import sys, charrnn, charrnn.check, charrnn.cli\n"
        "charrnn.check_gradients, charrnn.write_case, charrnn.check_case\n"
        "print('scipy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_bad_files_are_named_errors(tmp_path):
    case = write_case(tmp_path / "case.npz", **SMALL)
    grads = gradients_of(case)
    bad = {
        "no_dV.npz": ({k: v for k, v in grads.items() if k != "dV"}, "no dV"),
        "transposed.npz": ({**grads, "dU": grads["dU"].T}, r"dU has shape \(15, 5\).*transp"),
        "nan.npz": (
            {**grads, "db": np.where(np.arange(5) == 2, np.nan, grads["db"])},
            r"db has 1 non-finite entries, the first nan at \[2\]",
        ),
        "text_loss.npz": ({**grads, "loss": np.array("low")}, "loss must be one real number"),
    }
    for name, (arrays, match) in bad.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=name):
            check_case(tmp_path / "case.npz", tmp_path / name)
        with pytest.raises(ValueError, match=match):
            check_case(tmp_path / "case.npz", tmp_path / name)
    np.savez(tmp_path / "no_h0.npz", **{k: v for k, v in case.items() if k != "h0"})
    with pytest.raises(ValueError, match="no_h0.npz has no h0"):
        check_case(tmp_path / "no_h0.npz", grads)
    np.save(tmp_path / "one.npy", grads["dW"])
    (tmp_path / "text.npz").write_text("not an archive", encoding="utf-8")
    (tmp_path / "torn.npz").write_bytes((tmp_path / "no_dV.npz").read_bytes()[:200])
    for name in ("one.npy", "text.npz", "torn.npz"):
        with pytest.raises(ValueError, match=f"{name}: not a readable .npz file"):
            check_case(tmp_path / "case.npz", tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no such file"):
        check_case(tmp_path / "case.npz", tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=".npz or .mat"):
        write_case(tmp_path / "case.txt", **SMALL)


def test_bad_input_on_the_command_line_is_one_line(tmp_path):
    write_case(tmp_path / "case.npz", **SMALL)
    (tmp_path / "text.npz").write_text("not an archive", encoding="utf-8")
    assert_one_line_error(
        charrnn("check", "case.npz", "text.npz", cwd=tmp_path), "text.npz: not a readable .npz file"
    )
    assert_one_line_error(charrnn("check", "case.npz", "missing.npz", cwd=tmp_path), "no such file")
    assert_one_line_error(
        charrnn("check", "--write-case", "c.npz", "--cell", "tree", cwd=tmp_path), "tree"
    )


def test_check_usage_errors(tmp_path):
    for args in (["case.npz"], ["a.npz", "b.npz", "--m", "5"]):
        result = charrnn("check", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "usage: charrnn check" in result.stderr and "Traceback" not in result.stderr
