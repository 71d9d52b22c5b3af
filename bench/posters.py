"""Poster benchmark: 20 concurrent requests for the poster of a group whose cover was a 12000×12000 photo.

Measures, in one process against a real Redis (the cache):

  upload    what the cover upload does with the 12000×12000 picture (shequn.images.clean_image refuses it
            on its header, so the posters below draw from the largest cover an upload can store);
  ours      20 threads asking groups.posters.poster_png for the same poster at once: renders counted, wall
            time, and the most extra resident memory the process used meanwhile (sampled);
  baseline  the same 20 threads calling groups.qr.poster_png directly (one render each, no cache), as the
            poster views did before.

Run with `scripts/bench posters [--requests N]`.
"""

import argparse
import gc
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def declared_png(side: int):
    """A valid 1-bit PNG of side×side pixels, a few KB on the wire."""
    import struct
    import zlib

    from django.core.files.uploadedfile import SimpleUploadedFile

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), b"\0" * (1 + side // 8)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return SimpleUploadedFile("cover.png", data, content_type="image/png")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class StoredCover:
    """What a group's cover field gives the poster code: a name and a file to open."""

    def __init__(self, data: bytes, name: str):
        self.data, self.name = data, name

    def __bool__(self) -> bool:
        return True

    def open(self, mode="rb"):  # noqa: ARG002 (the file API's signature; the bytes are only read)
        return BytesIO(self.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["CACHE_KEY_PREFIX"] = f"bench-posters-{os.getpid()}"  # its own keys, deleted at the end
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from groups import posters, qr
    from shequn import images

    try:
        images.clean_image(declared_png(12000), bounds=images.COVER)
        print("upload    12000×12000 cover: stored (unexpected)")
    except ValidationError as refused:
        print(f"upload    12000×12000 cover: refused before decoding ({refused.messages[0]})")
    photo = BytesIO()
    Image.linear_gradient("L").resize((6000, 4000)).convert("RGB").save(photo, format="JPEG", quality=90)
    upload = SimpleUploadedFile("big.jpg", photo.getvalue(), content_type="image/jpeg")
    stored = images.clean_image(upload, bounds=images.COVER)
    cover = StoredCover(stored.read(), f"group_covers/{stored.name}")
    print(f"          a 6000×4000 photo is stored as {Image.open(BytesIO(cover.data)).size} for the posters")
    text = {"group_name": "宝妈辅食交流群", "inviter_name": "小美", "url": "https://shop.example.com/m/j/abc/"}

    renders, lock, real = [], threading.Lock(), qr.poster_png

    def counting(**kwargs):
        with lock:
            renders.append(1)
        return real(**kwargs)

    def run(fn) -> tuple[float, float]:
        barrier = threading.Barrier(args.requests)

        def one(_i):
            barrier.wait()
            return fn()

        gc.collect()
        before, highest, done = rss_mb(), [0.0], threading.Event()

        def sample():  # the process's resident memory, every 5 ms while the requests run
            while not done.is_set():
                highest[0] = max(highest[0], rss_mb())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        with ThreadPoolExecutor(args.requests) as pool:
            results = list(pool.map(one, range(args.requests)))
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
        assert len({len(r) for r in results}) == 1
        return seconds, highest[0] - before

    qr.poster_png = counting
    try:
        for label, fn in (
            ("ours    ", lambda: posters.poster_png(cover=cover, **text)),
            ("baseline", lambda: counting(cover=cover.open(), **text)),
        ):
            renders.clear()
            seconds, grown = run(fn)
            print(f"{label}  {args.requests} requests: {len(renders)} render(s), {seconds:.2f} s, +{grown:.0f} MB")
    finally:
        qr.poster_png = real
        cache.delete_pattern("poster:*")


if __name__ == "__main__":
    main()
