"""Open every page of the built site in headless Chromium and fail on what a reader would see broken.

    python docs/check_site.py docs/_build/html        (``make docs-check`` builds, then runs this)

The site is served on 127.0.0.1 by a throwaway HTTP server. Each page fails the check on:
a JavaScript error (an uncaught exception, a rejected promise, a ``console.error``), a request
that failed (an HTTP status of 400 or more from the server, or a resource the browser could not
fetch, such as anything on another host: the site must work offline), or an image that did not
load (``naturalWidth`` 0). Needs Chromium and its driver (Debian: ``chromium``,
``chromium-driver``) and ``selenium`` (the ``docs`` extra).
"""

import argparse
import functools
import http.server
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,900"]

# Installed before any script of a page runs: collects what the console would show as errors.
ERROR_HOOK = """
window.__siteErrors = [];
window.addEventListener('error', function (e) {
  if (e.target && e.target !== window && (e.target.src || e.target.href)) {
    window.__siteErrors.push('failed to load ' + (e.target.src || e.target.href));
  } else {
    window.__siteErrors.push('uncaught: ' + e.message + ' at ' + e.filename + ':' + e.lineno);
  }
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__siteErrors.push('unhandled rejection: ' + e.reason);
});
var __consoleError = console.error;
console.error = function () {
  window.__siteErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return __consoleError.apply(console, arguments);
};
"""

# Lazy images load only when scrolled to: make them eager, then report those that did not load.
IMAGES_SETTLED = """
var images = Array.from(document.images);
images.forEach(function (img) { if (img.loading === 'lazy') { img.loading = 'eager'; } });
return images.every(function (img) { return img.complete; });
"""
BROKEN_IMAGES = """
return Array.from(document.images)
  .filter(function (img) { return !img.complete || img.naturalWidth === 0; })
  .map(function (img) { return img.currentSrc || img.src; });
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures = None  # set per server: a list of (status, path)

    def log_message(self, format, *args):  # quiet; failures are recorded below
        pass

    def send_response(self, code, message=None):
        if code >= 400:
            self.failures.append((code, self.path))
        super().send_response(code, message)


def serve(root):
    """Start serving ``root`` on 127.0.0.1; return (server, base URL, failures list)."""
    failures = []
    handler = type("Handler", (_Handler,), {"failures": failures})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/", failures


def find_executable(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def start_browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = find_executable(["chromium", "chromium-browser", "google-chrome"])
    driver_path = find_executable(["chromedriver"])
    if browser is None or driver_path is None:
        raise SystemExit("check_site: Chromium and chromedriver are needed (Debian: apt-get install "
                         "chromium chromium-driver).")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which would download one) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_HOOK})
    return driver


def check_page(driver, url, timeout=15.0):
    """The problems of one page, as strings."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.readyState") != "complete" or not \
            driver.execute_script(IMAGES_SETTLED):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    problems = [f"image did not load: {src}" for src in driver.execute_script(BROKEN_IMAGES)]
    problems += driver.execute_script("return window.__siteErrors || []")
    problems += [f"console {entry['level']}: {entry['message']}" for entry in driver.get_log("browser")
                 if entry["level"] == "SEVERE"]
    return problems


def pages(root):
    """Every HTML page of the site, except Sphinx's own static files and downloads."""
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if not skip & set(p.relative_to(root).parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site, e.g. docs/_build/html")
    args = parser.parse_args(argv)
    root = args.site.resolve()
    if not (root / "index.html").is_file():
        raise SystemExit(f"check_site: {root} has no index.html; build the site first (make docs).")
    server, base, failed_requests = serve(root)
    profile = tempfile.mkdtemp(prefix="deepbelief-docs-check-")
    driver = start_browser(profile)
    bad, n_images = {}, 0
    try:
        for page in pages(root):
            before = len(failed_requests)
            problems = check_page(driver, base + page)
            problems += [f"HTTP {code}: {path}" for code, path in failed_requests[before:]]
            n_images += driver.execute_script("return document.images.length")
            if problems:
                bad[page] = problems
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    n_pages = len(pages(root))
    for page, problems in bad.items():
        print(f"{page}:")
        for problem in problems:
            print(f"    {problem}")
    print(f"check_site: {n_pages} pages, {n_images} images; {len(bad)} pages with problems.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
