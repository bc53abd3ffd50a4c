"""Image decoding has a memory bound: eight concurrent 7000 x 7000 RGBA uploads in one process.

Run in a child process so that its peak RSS (ru_maxrss) is this scenario's alone.
"""

import json
import os
import subprocess
import sys
import textwrap

from tests.services import ROOT

CHILD = textwrap.dedent(
    """
    import io, json, resource, sys, threading
    import django
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image
    from incidents import files

    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    results = []

    def upload():
        uploaded = SimpleUploadedFile("big.png", data, content_type="image/png")
        sniffed = files.sniff(uploaded, "big.png")
        thumb = files.thumbnail_png(uploaded, "big.png")
        results.append((sniffed.width, len(thumb) > 0))

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"png_bytes": len(data), "before_mb": before, "peak_mb": peak, "results": results}))
    """
)


def test_eight_concurrent_7000px_rgba_uploads_stay_within_the_memory_budget(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "WARROOM_VAR_DIR": str(tmp_path),
           "IMAGE_DECODE_CONCURRENCY": "1", "DATABASE_URL": ""}
    from PIL import Image

    png = tmp_path / "big.png"
    Image.new("RGBA", (7000, 7000), (10, 20, 30, 255)).save(png, format="PNG")
    result = subprocess.run([sys.executable, "-c", CHILD, str(png)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["results"] == [[7000, True]] * 8
    # One full decode (196 MB of pixels and the premultiplied copy Pillow resizes) at a
    # time, over what the process already held; eight at once took 2.8 GB before.
    assert figures["peak_mb"] - figures["before_mb"] < 450, figures
