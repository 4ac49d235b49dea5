"""The IG console in a real browser (Chromium through Selenium), against a running hub whose
demo police agency signs in through a real OpenID provider (ci/oidc/server.mjs) with its own
login form.

Run 1 signs in as an IG officer, gives the session's purpose, runs an audit search, opens an
entry, downloads an export, looks at verification, the agreement register and an agreement's
disclosures, opens a person's report, and signs out (through the provider's end-session page).
Run 2 signs in as a practitioner and is refused the console.

Every console page is screenshotted into OUT and checked with axe-core (npm) in the same
browser; a serious or critical violation fails the run. A summary is written to
OUT/axe-results.json and printed.

Environment: HUB (http://127.0.0.1:PORT), OUT (folder), AXE (path to axe.min.js),
AGENCY (the agency's name on the sign-in page), PERSON_REF (a person reference the officer's
agency recorded), CHROMIUM, CHROMEDRIVER (paths; default the Debian packages').
"""

import base64
import json
import os
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

HUB = os.environ["HUB"].rstrip("/")
OUT = os.environ["OUT"]
AXE = open(os.environ["AXE"], encoding="utf-8").read()
AGENCY = os.environ.get("AGENCY", "Demo West Midlands Police")
PERSON_REF = os.environ.get("PERSON_REF", "")
DOWNLOADS = os.path.join(OUT, "downloads")

results = []
failures = []


def driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1100", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--metrics-recording-only",
                "--disable-component-update", "--disable-default-apps"]:
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {
        "download.default_directory": DOWNLOADS,
        "download.prompt_for_download": False,
    })
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=opts, service=service)
    d.set_page_load_timeout(30)
    d.execute_cdp_cmd("Browser.setDownloadBehavior",
                      {"behavior": "allow", "downloadPath": DOWNLOADS})
    return d


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def page(d, name, axe=True):
    """Screenshots the current page as NN-name.png and runs axe-core on it."""
    n = len(results) + 1
    path = os.path.join(OUT, f"{n:02d}-{name}.png")
    try:
        size = d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"],
                     "height": min(size["height"], 8000), "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    except Exception:  # the whole page where the browser can, else what is in view
        d.save_screenshot(path)
    entry = {"page": name, "url": d.current_url, "title": d.title, "screenshot": path}
    if axe:
        d.execute_script(AXE + "\nreturn true;")
        d.set_script_timeout(60)
        violations = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.length}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0}]));")
        entry["violations"] = violations
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        check(not bad, f"axe on {name}: {bad}")
    results.append(entry)
    if axe:
        found = [(v["id"], v["impact"]) for v in entry["violations"]] or "no violations"
    else:
        found = "not run (the provider's page)"
    print(f"page {n:02d} {name}: {d.current_url} axe {found}", flush=True)
    return entry


def wait_for(d, cond, what, timeout=20):
    try:
        WebDriverWait(d, timeout).until(cond)
        return True
    except TimeoutException:
        check(False, f"timed out waiting for {what} (at {d.current_url})")
        return False


def on_hub(d):
    return d.current_url.startswith(HUB)


def provider_login(d, login):
    """The provider's own login form, then its consent page."""
    wait_for(d, lambda d: not on_hub(d), "the provider's login page")
    wait_for(d, lambda d: d.find_elements(By.NAME, "login"), "the login field")
    page(d, f"provider-login-{login}", axe=False)
    d.find_element(By.NAME, "login").send_keys(login)
    d.find_element(By.NAME, "password").send_keys("any password")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    for _ in range(3):
        time.sleep(0.3)
        if on_hub(d):
            return
        buttons = d.find_elements(By.CSS_SELECTOR, "button[type=submit]")
        if buttons:
            buttons[0].click()
    wait_for(d, on_hub, "the way back to the hub")


def sign_in(d, login):
    d.get(f"{HUB}/console")
    wait_for(d, lambda d: "/console/sign-in" in d.current_url, "the sign-in page")
    page(d, f"sign-in-{login}")
    Select(d.find_element(By.ID, "agency")).select_by_visible_text(AGENCY)
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    provider_login(d, login)


def give_purpose_if_asked(d):
    """The purpose form (asked once per session): verifying the lawfulness of processing."""
    radios = d.find_elements(By.CSS_SELECTOR, "input[type=radio][name=purpose]")
    if radios:
        page(d, "purpose")
        choice = d.find_element(By.CSS_SELECTOR, "input[name=purpose][value=verify_lawfulness]")
        choice.click()
        choice.find_element(By.XPATH, "ancestor::form").find_element(
            By.CSS_SELECTOR, "button[type=submit]").click()
        time.sleep(0.3)


def first_link(d, prefix):
    for a in d.find_elements(By.CSS_SELECTOR, "main a[href]"):
        href = a.get_attribute("href") or ""
        if urllib.parse.urlparse(href).path.startswith(prefix):
            return href
    return None


def officer_run():
    d = driver()
    try:
        sign_in(d, "ig_officer")
        check("/console" in d.current_url, f"signed in back on the console ({d.current_url})")

        # The purpose (asked once per session), then the audit search.
        d.get(f"{HUB}/console/audit")
        give_purpose_if_asked(d)
        if "/console/audit" not in d.current_url:
            d.get(f"{HUB}/console/audit")
        page(d, "audit-search")
        forms = d.find_elements(By.CSS_SELECTOR, "main form[method=get], main form:not([method])")
        if check(forms, "the audit search has a search form"):
            forms[0].submit()
            time.sleep(0.5)
            give_purpose_if_asked(d)
            page(d, "audit-results")

        entry = first_link(d, "/console/audit/entries/")
        if check(entry, "the search lists entries that link to their page"):
            d.get(entry)
            page(d, "audit-entry")

        # The export of the current filter, as a download.
        before = set(os.listdir(DOWNLOADS))
        d.get(f"{HUB}/console/audit/export?format=csv")
        got = None
        for _ in range(100):
            fresh = [f for f in set(os.listdir(DOWNLOADS)) - before
                     if not f.endswith(".crdownload")]
            if fresh:
                got = os.path.join(DOWNLOADS, fresh[0])
                break
            time.sleep(0.1)
        if check(got, "the CSV export downloads"):
            text = open(got, encoding="utf-8").read()
            check(len(text.splitlines()) >= 2, "the export holds a header and entries")
            results.append({"page": "audit-export", "download": got,
                            "bytes": len(text.encode())})
            print(f"export downloaded: {got} ({len(text.encode())} bytes)", flush=True)

        d.get(f"{HUB}/console/verify")
        page(d, "verify")
        d.get(f"{HUB}/console/agreements")
        page(d, "agreements")
        disclosures = first_link(d, "/console/agreements/")
        if check(disclosures, "the register links to an agreement's disclosures"):
            d.get(disclosures)
            page(d, "agreement-disclosures")

        ref = urllib.parse.quote(PERSON_REF)
        d.get(f"{HUB}/console/people?ref={ref}")
        page(d, "person-report")

        # Sign out: the session ends, and the provider's end-session page is used.
        d.get(f"{HUB}/console/purpose")
        d.find_element(By.CSS_SELECTOR, "form.signout button[type=submit]").click()
        for _ in range(3):
            time.sleep(0.4)
            if on_hub(d):
                break
            buttons = d.find_elements(By.CSS_SELECTOR, "button[type=submit], button[autofocus]")
            if buttons:
                page(d, "provider-sign-out", axe=False)
                buttons[0].click()
        wait_for(d, lambda d: "/console/sign-in" in d.current_url, "the sign-in page after sign-out")
        check("You have signed out" in d.find_element(By.TAG_NAME, "body").text,
              "the sign-in page says the officer signed out")
        page(d, "signed-out")
        d.get(f"{HUB}/console/audit")
        check("/console/sign-in" in d.current_url, "after sign-out the console asks to sign in")
    finally:
        d.quit()


def practitioner_run():
    d = driver()
    try:
        sign_in(d, "practitioner")
        wait_for(d, lambda d: "/console/callback" in d.current_url, "the callback")
        body = d.find_element(By.TAG_NAME, "body").text
        check("not available to you" in body, f"the practitioner is refused: {body[:200]}")
        page(d, "practitioner-refused")
        d.get(f"{HUB}/console/audit")
        check("/console/sign-in" in d.current_url, "no session for the practitioner")
    finally:
        d.quit()


def main():
    os.makedirs(DOWNLOADS, exist_ok=True)
    started = time.time()
    for run in (officer_run, practitioner_run):
        try:
            run()
        except Exception as e:  # a broken page fails the run with what it was
            check(False, f"{run.__name__}: {type(e).__name__}: {e}")
    with open(os.path.join(OUT, "axe-results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print("\naxe-core results per page:")
    for r in results:
        if "violations" in r:
            v = r["violations"]
            serious = sum(1 for x in v if x["impact"] in ("serious", "critical"))
            print(f"  {r['page']:<24} {len(v)} violation(s), {serious} serious or critical"
                  f"  {r['screenshot']}")
        elif "screenshot" in r:
            print(f"  {r['page']:<24} (provider's page, not checked)  {r['screenshot']}")
    print(f"browser suite: {len(results)} pages in {time.time() - started:.1f}s, "
          f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
