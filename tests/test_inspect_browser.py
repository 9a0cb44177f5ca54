"""The `charrnn inspect` page in a real browser: headless Chromium (Debian's chromium and
chromium-driver, nothing downloaded) driven by selenium, one session for the module, on pages
made from small trained models. Without a browser these tests skip with the reason; with
CHARRNN_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from charrnn import _core
from charrnn.model import Model

CHROMIUM = os.environ.get("CHARRNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = (
    os.environ.get("CHARRNN_CHROMEDRIVER")
    or shutil.which("chromedriver")
    or "/usr/bin/chromedriver"
)
FAST = ["--seq-length", "16", "--quiet", "--no-gradcheck", "--sample-every", "1000"]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not Path(path).is_file():
            return f"{path} not found (apt-get install {package})"
    return None


REASON = missing_browser()
if REASON is not None:
    if os.environ.get("CHARRNN_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"CHARRNN_REQUIRE_BROWSER=1 but the browser tests cannot run: {REASON}")
    pytest.skip(f"no headless browser: {REASON}", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


def charrnn(*args):
    result = subprocess.run(
        [sys.executable, "-m", "charrnn", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def pages(tmp_path_factory, small_text):
    """Pages of three briefly trained models: a 2-layer LSTM (the one the views are tested on),
    a vanilla RNN and a GRU. name -> (page, checkpoint, text file)."""
    root = tmp_path_factory.mktemp("inspect_pages")
    text = root / "small.txt"
    text.write_text(small_text, encoding="utf-8")
    out = {}
    for name, args in (
        ("lstm", ["--cell", "lstm", "--layers", 2, "--m", 24]),
        ("rnn", ["--m", 24]),
        ("gru", ["--cell", "gru", "--m", 24]),
    ):
        run = root / name
        charrnn("train", text, "--steps", 150, "--out", run, *args, *FAST)
        page = root / f"{name}.html"
        charrnn("inspect", run, text, "--out", page, "--window", 1500)
        out[name] = (page, run / "best.npz", text)
    # The same LSTM with its weights embedded as float16, as models above 200,000 parameters
    # have them.
    from charrnn.inspect import page as page_module

    saved = page_module.FLOAT32_UP_TO
    page_module.FLOAT32_UP_TO = 0
    try:
        html, _ = page_module.build(
            Model.load(out["lstm"][1]), small_text, name="small.txt", window=500
        )
    finally:
        page_module.FLOAT32_UP_TO = saved
    (root / "lstm16.html").write_text(html, encoding="utf-8")
    out["lstm16"] = (root / "lstm16.html", out["lstm"][1], text)
    return out


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--window-size=1300,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def open_page(driver, page: Path, hash: str = "") -> None:
    driver.get(page.as_uri() + hash)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready") is not None
    )


def errors(driver) -> list[str]:
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return driver.execute_script("return window.charrnnErrors") + logged


@pytest.fixture(scope="module")
def lstm_page(browser, pages):
    open_page(browser, pages["lstm"][0])
    return browser


def colours(driver, n=300):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#text span.ch')).slice(0, arguments[0])"
        ".map(s => s.style.backgroundColor)",
        n,
    )


def test_loads_without_errors(lstm_page):
    assert lstm_page.execute_script("return document.body.dataset.ready") == "1"
    assert errors(lstm_page) == []
    for view in ("#units tr", "#gates svg", "#context svg", "#samples .sample"):
        assert lstm_page.find_elements(By.CSS_SELECTOR, view), view
    assert len(lstm_page.find_elements(By.CSS_SELECTOR, "#samples .sample")) == 4


def test_hover_shows_five_guesses(lstm_page):
    span = lstm_page.find_element(By.CSS_SELECTOR, '#text span.ch[data-i="12"]')
    ActionChains(lstm_page).move_to_element(span).perform()
    tooltip = lstm_page.find_element(By.ID, "tooltip")
    WebDriverWait(lstm_page, 5).until(lambda d: tooltip.is_displayed())
    assert len(tooltip.find_elements(By.CSS_SELECTOR, ".guess")) == 5
    assert "true next" in tooltip.text and "entropy" in tooltip.text


def test_clicking_pins_and_lists_units(lstm_page):
    lstm_page.find_element(By.CSS_SELECTOR, '#text span.ch[data-i="30"]').click()
    assert len(lstm_page.find_elements(By.CSS_SELECTOR, "#pinned-units > div")) == 10


def test_choosing_a_unit_recolours_the_text(lstm_page):
    lstm_page.execute_script("charrnnInspect.setView({mode: 'surprisal'})")
    before = colours(lstm_page)
    link = lstm_page.find_element(By.CSS_SELECTOR, "#units .unit-link")
    lstm_page.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    after = colours(lstm_page)
    assert after != before
    assert re.fullmatch(r"#L[12]\.[hc]\.\d+", lstm_page.execute_script("return location.hash"))
    assert lstm_page.find_elements(By.CSS_SELECTOR, "#unit-contexts .context-line")


def test_selecting_a_span_lists_units(lstm_page):
    lstm_page.execute_script(
        """
        const spans = document.querySelectorAll('#text span.ch');
        const range = document.createRange();
        range.setStart(spans[40].firstChild, 0);
        range.setEnd(spans[70].firstChild, 1);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        document.getElementById('text').dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        """
    )
    assert len(lstm_page.find_elements(By.CSS_SELECTOR, "#span-units .span-unit")) == 10
    assert "fire together" in lstm_page.find_element(By.ID, "span-matches").text
    lstm_page.execute_script("window.getSelection().removeAllRanges()")


def test_typing_updates_the_colours(lstm_page):
    box = lstm_page.find_element(By.ID, "live-input")
    lstm_page.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.clear()
    box.send_keys("To be, or not to be")
    WebDriverWait(lstm_page, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#live-text span.live-ch")) == 19
    )
    spans = lstm_page.find_elements(By.CSS_SELECTOR, "#live-text span.live-ch")
    shades = {s.value_of_css_property("background-color") for s in spans[1:]}
    assert len(shades) > 3  # coloured by surprisal, character by character
    assert errors(lstm_page) == []


def test_the_sampler_writes_text(lstm_page):
    lstm_page.execute_script("document.getElementById('temperature').value = '0.5'")
    lstm_page.find_element(By.ID, "sample-button").click()
    WebDriverWait(lstm_page, 10).until(
        lambda d: len(d.find_element(By.ID, "live-sample").text) > 100
    )


def forward_matches(driver, ckpt, dtype):
    """The page's JavaScript forward pass (weights embedded in dtype, arithmetic in double)
    against the native core on the same rounded weights."""
    model = Model.load(ckpt)
    assert driver.execute_script("return charrnnInspect.data.weights.dtype") == dtype
    text = "First Citizen:\nBefore we proceed any further, hear me speak."
    got = np.array(driver.execute_script("return charrnnInspect.forward(arguments[0])", text))
    params = model.params.copy()
    params.flat[:] = params.flat.astype(dtype)
    codes = model.vocab.encode(text)
    native = _core.forward_backward(params, codes, np.roll(codes, -1)).probs
    assert got.shape == native.shape
    np.testing.assert_allclose(got, native, rtol=1e-9, atol=1e-12)
    return got


def test_the_pages_forward_pass_is_the_cores(lstm_page, pages):
    forward_matches(lstm_page, pages["lstm"][1], "float32")


def test_screenshot(lstm_page, tmp_path_factory):
    out = Path(os.environ.get("CHARRNN_TEST_OUTPUTS") or tmp_path_factory.mktemp("screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    lstm_page.execute_script("window.scrollTo(0, 0)")
    path = out / "inspect-lstm.png"
    assert lstm_page.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")


def test_the_hash_keeps_the_view(browser, pages):
    open_page(browser, pages["lstm"][0], "#L2.c.7")
    view = browser.execute_script("return charrnnInspect.view()")
    assert view == {"mode": "unit", "layer": 2, "kind": "c", "unit": 7}
    assert "L2.c.7" in browser.find_element(By.ID, "legend").text


def test_float16_weights(browser, pages):
    open_page(browser, pages["lstm16"][0])
    assert errors(browser) == []
    got = forward_matches(browser, pages["lstm16"][1], "float16")
    model = Model.load(pages["lstm16"][1])
    codes = model.vocab.encode("First Citizen:\nBefore we proceed any further, hear me speak.")
    exact = _core.forward_backward(model.params, codes, np.roll(codes, -1)).probs
    assert np.abs(got - exact).max() < 1e-2  # the stated quantisation: float16 weights


@pytest.mark.parametrize("name", ["rnn", "gru"])
def test_other_cells_load_without_errors(browser, pages, name):
    open_page(browser, pages[name][0])
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    assert errors(browser) == []
    assert browser.find_elements(By.CSS_SELECTOR, "#gates svg")
    probs = browser.execute_script("return charrnnInspect.forward('To be, or not')")
    assert len(probs) == len("To be, or not")
