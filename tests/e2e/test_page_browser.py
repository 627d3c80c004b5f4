"""The outreach page in a real browser: headless Chromium (Debian's, driven by Selenium) on
`radar serve`, as an outreach lead uses it: rows, filters, search, an outcome recorded."""

from __future__ import annotations

import shutil

import pytest

from radar.process import free_port, service_env, start_service, stop
from serving.outreach.outcomes import OutcomeStore

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
TOKEN = "page-test-token"


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """`radar serve` with a token, on a private copy of the trained workspace."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium is not installed here (make test installs Debian's where it can)")
    root = tmp_path_factory.mktemp("page") / "ws"
    shutil.copytree(trained["root"], root)
    config = trained["config"].model_copy(
        update={"workspace": trained["config"].workspace.model_copy(update={"root": root})}
    )
    env = service_env(config) | {"RADAR_API_TOKEN": TOKEN}
    port = free_port(0)
    proc = start_service(config, port, root / "service.log", env, timeout=120)
    try:
        yield f"http://127.0.0.1:{port}", config
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def loaded(driver, wait) -> None:
    """Wait for the list page to be whole (its script has run: the shown count is set)."""
    from selenium.webdriver.common.by import By

    wait.until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and d.find_elements(By.ID, "capacity")
        )
    )


def visible_rows(driver):
    from selenium.webdriver.common.by import By

    return [r for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]


def test_an_outreach_lead_signs_in_filters_searches_and_records_an_outcome(
    served, browser, trained
):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, config = served
    listed = trained["risk_list"]
    browser.get(f"{base}/list/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.NAME, "token"))
    assert "needs the service's token" in browser.find_element(By.TAG_NAME, "body").text
    # A page being replaced may answer with an element that is gone the next moment: ask again.
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))
    browser.find_element(By.NAME, "token").send_keys("wrong")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "not the service's" in d.find_element(By.TAG_NAME, "body").text)
    browser.find_element(By.NAME, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    loaded(browser, wait)

    rows = visible_rows(browser)
    assert len(rows) == min(len(listed), 1000)
    first = listed.iloc[0]
    assert first["customer_id"] in rows[0].text
    capacity = browser.find_element(By.ID, "capacity").text
    assert "Today's capacity" in capacity and "held out at random" in capacity

    Select(browser.find_element(By.ID, "f-tier")).select_by_visible_text("high")
    high = visible_rows(browser)
    assert len(high) == int((listed.head(1000)["risk_tier"] == "high").sum()) > 0
    assert all(r.get_attribute("data-tier") == "high" for r in high)
    Select(browser.find_element(By.ID, "f-tier")).select_by_visible_text("all")
    Select(browser.find_element(By.ID, "f-assignment")).select_by_visible_text("holdout")
    held = visible_rows(browser)
    assert len(held) == int((listed["assignment"] == "holdout").sum())
    Select(browser.find_element(By.ID, "f-assignment")).select_by_visible_text("all")

    target = listed.loc[listed["assignment"] == "contact", "customer_id"].iloc[0]
    browser.find_element(By.ID, "f-search").send_keys(target)
    (row,) = visible_rows(browser)
    assert row.get_attribute("data-customer") == target
    row.find_element(By.CSS_SELECTOR, "button.record").click()
    form = row.find_element(By.CSS_SELECTOR, "form.outcome")
    form.find_element(By.NAME, "reached").click()
    Select(form.find_element(By.NAME, "outcome_code")).select_by_visible_text("issue_resolved")
    form.find_element(By.NAME, "note").send_keys("refund promised")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "recorded: issue_resolved (reached)" in row.text)

    kept = OutcomeStore(config.outcomes_url()).frame()
    assert list(kept["customer_id"]) == [target]
    assert kept.loc[0, "note"] == "refund promised" and bool(kept.loc[0, "reached"])
    before = browser.find_element(By.ID, "capacity")
    browser.refresh()  # what was recorded is shown when the page comes back
    wait.until(staleness_of(before))
    loaded(browser, wait)
    browser.find_element(By.ID, "f-search").send_keys(target)
    (row,) = visible_rows(browser)
    assert "recorded: issue_resolved (reached)" in row.text
