"""The demo of a finished run: attributions that add up, bad input answered in words, and the page in a real
browser (headless Chromium driven by Selenium through Debian's chromedriver)."""

import dataclasses
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from sst5.analysis import attribution_html, token_attributions
from sst5.config import LABEL_NAMES
from sst5.demo import MAX_REVIEW_CHARS, ReviewClassifier, clean_review, main
from sst5.models import load_classifier

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def test_attributions_add_up_to_the_logit_difference(tiny_model_dir):
    """Completeness of integrated gradients: the tokens' scores sum to logit(input) - logit(baseline) for the
    explained class, up to the convergence delta captum reports; and that delta is small at 64 steps."""
    model, tokenizer = load_classifier(str(tiny_model_dir), seed=3)
    for text, target in (("a gorgeous , witty , seductive movie", None), ("the plot is a mess", 0)):
        attribution = token_attributions(model, tokenizer, text, target=target, n_steps=64)
        difference = attribution.logit - attribution.baseline_logit
        assert attribution.scores.sum() == pytest.approx(difference, abs=attribution.delta + 1e-6)
        assert attribution.delta <= 0.01 * abs(difference) + 1e-4
        assert attribution.tokens[0] == "[CLS]" and attribution.tokens[-1] == "[SEP]"
        assert len(attribution.scores) == len(attribution.tokens)
        if target is not None:
            assert attribution.target == target
    hostile = dataclasses.replace(attribution, tokens=["<b>", *attribution.tokens[1:]])
    assert "<span" in attribution_html(attribution) and "&lt;b&gt;" in attribution_html(hostile)  # escaped


def test_bad_reviews_get_a_message_not_a_traceback():
    for empty in ("", "   ", "\x00\x07\n\t", None):
        with pytest.raises(ValueError, match="the box is empty"):
            clean_review(empty)
    with pytest.raises(ValueError, match="10,000 characters long; the demo takes up to 5,000"):
        clean_review("x" * 10_000)
    assert clean_review("a\x1b[31mred\x1b[0m  film\u200b") == "a [31mred [0m film"
    assert len(clean_review("y" * MAX_REVIEW_CHARS)) == MAX_REVIEW_CHARS


def test_the_classifier_gives_five_probabilities_a_verdict_and_shaded_words(smoke_run):
    run = smoke_run / "run"
    probabilities, verdict, words = ReviewClassifier([run])("A gorgeous, witty, seductive movie.")
    assert list(probabilities) == list(LABEL_NAMES) and sum(probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert verdict.startswith(f"Predicted: **{max(probabilities, key=probabilities.get)}**")
    assert words and all(-1 <= score <= 1 for _, score in words) and max(abs(s) for _, s in words) == 1
    assert "[CLS]" not in dict(words)
    ensemble, _, _ = ReviewClassifier([run, run])("A gorgeous, witty, seductive movie.")
    assert np.allclose(list(ensemble.values()), list(probabilities.values()))


def test_a_run_without_a_model_is_refused_on_the_command_line(tmp_path, capsys):
    (tmp_path / "reference").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "reference")])
    assert exit_info.value.code == 2
    assert "no trained model in" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(run_dir: Path, port: int) -> subprocess.Popen:
    """``sst5-demo RUN_DIR --port PORT`` in a process of its own, once it answers."""
    server = subprocess.Popen([sys.executable, "-m", "sst5.demo", str(run_dir), "--port", str(port)],
                              env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
        time.sleep(0.5)
    return server


def _post(url: str, body: bytes, content_type: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@pytest.mark.slow
def test_the_demo_takes_no_uploads_no_large_bodies_and_says_when_its_port_is_taken(smoke_run):
    port = _free_port()
    server = _serve(smoke_run / "run", port)
    try:
        base = f"http://127.0.0.1:{port}/gradio_api"
        form = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n"
                b"Content-Type: text/plain\r\n\r\n" + b"x" * 1000 + b"\r\n--b--\r\n")
        status, text = _post(f"{base}/upload", form, "multipart/form-data; boundary=b")
        assert status == 413, text  # the page takes no files: nothing is stored
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.putrequest("POST", "/gradio_api/run/classify")  # declares 2 MB: refused before it is sent
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2_000_000))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and "larger than" in response.read().decode()
        connection.close()
        status, _ = _post(f"{base}/call/classify", b'{"data": ["A gorgeous film."]}', "application/json")
        assert status == 200  # a review still goes through
        taken = subprocess.run([sys.executable, "-m", "sst5.demo", str(smoke_run / "run"), "--port", str(port)],
                               capture_output=True, text=True, timeout=180)
        assert taken.returncode == 2 and "error: cannot serve on 127.0.0.1" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("SST5_REQUIRE_BROWSER"),
                    reason="needs Debian's chromium and chromium-driver (make install puts them in where it can)")
def test_the_demo_in_a_real_browser(smoke_run, tmp_path):
    """sst5-demo serves the page on 127.0.0.1; Chromium types a review, submits it, and reads the five
    probabilities and the predicted class; then an empty and a 10,000-character review get their messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "sst5.demo", str(smoke_run / "run"), "--port", str(port)],
                              env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1000"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    browser = None
    try:
        deadline = time.monotonic() + 120
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.5)
        browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 60)

        def ask(review: str) -> str:
            box = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#review textarea"))
            box.clear()
            browser.execute_script(  # as typing would, at once (10,000 keystrokes take long)
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))",
                box, review)
            previous = browser.find_element(By.ID, "verdict").text
            browser.find_element(By.ID, "classify").click()
            def answered(b):  # a new verdict, not Gradio's progress timer ("0.0s") over the old one
                text = b.find_element(By.ID, "verdict").text
                return text != previous and text and not re.match(r"[\d.]+s\b", text) and text

            return wait.until(answered)

        verdict = ask("A gorgeous, witty, seductive movie.")
        shown = browser.find_element(By.ID, "probabilities").text
        shares = dict(re.findall(rf"^({'|'.join(LABEL_NAMES)})\n(\d+)%$", shown, flags=re.M))
        assert set(shares) == set(LABEL_NAMES), shown
        assert abs(sum(map(int, shares.values())) - 100) <= 5  # each share rounded to a whole percent
        predicted = re.match(r"Predicted: (.+) \(\d+%\)", verdict).group(1)
        assert predicted in LABEL_NAMES and int(shares[predicted]) == max(map(int, shares.values()))
        assert browser.find_element(By.ID, "words").text.count("\n") >= 3  # the review's tokens, shaded
        artefacts = Path(os.environ.get("SST5_ARTEFACTS", tmp_path))
        artefacts.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(artefacts / "demo.png"))
        assert "Type a review first" in ask("   ")
        assert "10,000 characters long" in ask("x" * 10_000)
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=30)
