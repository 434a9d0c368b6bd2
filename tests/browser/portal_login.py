#!/usr/bin/env python3
"""Log on through the portal in a real browser: Debian's chromium, headless, driven by Selenium
with Debian's chromedriver. Run inside the lab's client namespace by tests/lab_portal.rs.

    portal_login.py URL USER PASSWORD MARKER PROFILE_DIR

Opens URL (a plain-HTTP page of the lab's internet), expects to land on the portal's logon
page, fills PtUser and PtPwd, clicks Logon, follows the success page's link back to URL and
expects MARKER there. Prints each step; exits 0 on success, 1 with the reason otherwise.
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def main():
    url, user, password, marker, profile = sys.argv[1:6]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Flags known to work on this kind of machine (closed network, root, no GPU).
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    wait = WebDriverWait(driver, 15)
    try:
        started = time.monotonic()
        driver.get(url)
        wait.until(EC.presence_of_element_located((By.NAME, "PtUser")))
        print("logon page at", driver.current_url, flush=True)
        assert "/portal/" in driver.current_url, driver.current_url
        driver.find_element(By.NAME, "PtUser").send_keys(user)
        driver.find_element(By.NAME, "PtPwd").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[name=PtButton][value=Logon]").click()
        link = wait.until(EC.presence_of_element_located((By.PARTIAL_LINK_TEXT, "Continue to")))
        print("logged on:", driver.find_element(By.TAG_NAME, "h1").text, flush=True)
        link.click()
        wait.until(lambda d: marker in d.page_source)
        print("marker page at", driver.current_url, "after %.1f s" % (time.monotonic() - started), flush=True)
        return 0
    except Exception as e:  # the reason goes to the Rust test's failure message
        print("FAILED:", type(e).__name__, e, flush=True)
        print("page:", driver.current_url, driver.page_source[:2000], flush=True)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
