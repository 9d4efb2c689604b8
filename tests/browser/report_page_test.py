"""Loads cropmap's HTML report in Debian's headless Chromium and checks that it
renders: no console errors, a screenshot that is not blank, and every image
and plot element with a non-zero rendered size (images also decoded).

usage: report_page_test.py PAGE SCREENSHOT
Exit 0 pass, 1 fail, 77 skip (no chromium on this machine).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
page, screenshot = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("SKIP: no chromium (Debian package chromium; cmake/install-deps.sh installs it)")
    sys.exit(77)
if not os.path.exists(page):
    print("FAIL: no page " + page)
    sys.exit(1)

os.makedirs(os.path.dirname(screenshot), exist_ok=True)
profile = tempfile.mkdtemp(prefix="cropmap-chromium-")
BASE = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
        "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
        "--window-size=1280,2400"]
failures = []


def run(args, what):
    r = subprocess.run(BASE + args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        failures.append("%s: chromium exit %d\n%s" % (what, r.returncode, r.stderr[-3000:]))
    return r


# Chromium logs console messages as "...:INFO:CONSOLE:12] "text", source: ..."
# without their level. The page runs no script, so any console message (an
# error, a blocked resource, an exception) is a failure.
def console_errors(stderr):
    return [l.strip() for l in stderr.splitlines() if ":CONSOLE" in l or "Uncaught" in l]


try:
    # The detector must see an error where there is one.
    control = os.path.join(profile, "control.html")
    with open(control, "w") as f:
        f.write("<!DOCTYPE html><html><body><p>x</p><script>console.error('cropmap control error');</script></body></html>")
    r = run(["--dump-dom", "file://" + control], "control page")
    if not any("cropmap control error" in l for l in console_errors(r.stderr)):
        failures.append("console-error detection saw nothing on the control page:\n" + r.stderr[-2000:])

    # 1. Screenshot of the page itself, console watched.
    if os.path.exists(screenshot):
        os.remove(screenshot)
    r = run(["--screenshot=" + screenshot, "file://" + page], "screenshot")
    errors = console_errors(r.stderr)
    if errors:
        failures.append("console errors:\n  " + "\n  ".join(errors))
    if not os.path.exists(screenshot):
        failures.append("no screenshot written")
    else:
        img = gdal.Open(screenshot).ReadAsArray().astype(np.int32)  # bands x rows x cols
        rgb = img[:3]
        colours = len(np.unique(rgb[0] * 65536 + rgb[1] * 256 + rgb[2]))
        nonwhite = float(np.mean(np.any(rgb < 240, axis=0)))
        print("screenshot %s: %dx%d, %d colours, %.1f%% non-white pixels" % (
            screenshot, img.shape[2], img.shape[1], colours, 100 * nonwhite))
        if colours < 20 or nonwhite < 0.05:
            failures.append("screenshot looks blank: %d colours, %.3f non-white" % (colours, nonwhite))

    # 2. Element sizes: a copy of the page with a script that writes the
    # rendered size of every img and svg into the DOM, read with --dump-dom.
    with open(page, encoding="utf-8") as f:
        html = f.read()
    probe = """<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img, svg').forEach(function (e, i) {
    var r = e.getBoundingClientRect();
    out.push({tag: e.tagName.toLowerCase(), i: i, w: r.width, h: r.height,
              decoded: e.tagName.toLowerCase() !== 'img' || (e.complete && e.naturalWidth > 0),
              label: e.getAttribute('aria-label') || e.getAttribute('alt') || ''});
  });
  var pre = document.createElement('pre');
  pre.id = 'cropmap-sizes';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"""
    probed = os.path.join(profile, "probed.html")
    with open(probed, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", probe))
    r = run(["--dump-dom", "file://" + probed], "dump-dom")
    m = re.search(r'<pre id="cropmap-sizes">(.*?)</pre>', r.stdout, re.S)
    if not m:
        failures.append("the size probe wrote nothing")
    else:
        sizes = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
        imgs = [e for e in sizes if e["tag"] == "img"]
        svgs = [e for e in sizes if e["tag"] == "svg"]
        print("%d images, %d svg elements" % (len(imgs), len(svgs)))
        if not imgs:
            failures.append("no map quick-look on the page")
        if len([e for e in svgs if "chart" in e["label"] or e["label"]]) < 3:
            failures.append("fewer than 3 plots on the page")
        for e in sizes:
            if not (e["w"] > 0 and e["h"] > 0) or not e["decoded"]:
                failures.append("%s #%d (%s) rendered %gx%g%s" % (e["tag"], e["i"], e["label"], e["w"], e["h"],
                                                                  "" if e["decoded"] else ", not decoded"))
finally:
    shutil.rmtree(profile, ignore_errors=True)

if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("PASS: %s renders in headless Chromium" % page)
