"""The synthetic ministry: N embassy sites × M relations pages, each site on its own loopback
address (127.0.0.2, 127.0.0.3, …), in the layout of mfawatch.mirror.

Every page is 30–60 KB: the mirror's chrome (menus, scripts, footer, ~31 KB) around an article
of generated English paragraphs. A site's home page links all M pages from its "Bilateral
relations" menu with texts that the layout's `link_text` rule accepts ("… cooperation"); each
relations page's own menu links the first four, as on the real sites. A page's content is a
pure function of (mission, page, version), so the benchmark can render any version again.

Run as a server process, apart from the crawlers, so its CPU is never counted against them:

    python benchmarks/ministry.py --sites 20 --pages 100

It prints one JSON line (missions and base URLs), then reads commands on stdin, answering "ok":
``bump I J [I J …]`` (page J of site I gets its next version) and ``quit``. With
``--validators`` pages carry an ETag and answer conditional requests with 304 (whether the
ministry's CMS does is not known; without validators every fetch gets the whole page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import zlib
from functools import cache
from pathlib import Path

from mfawatch.mirror import MirrorServer, content_page, home_page
from mfawatch.mirror._assets import MISSION_CITIES
from mfawatch.mirror.texts import SEOUL_PAGES

TOPICS = (
    "Political", "Economic", "Trade", "Energy", "Transport", "Educational", "Cultural",
    "Humanitarian", "Scientific", "Military", "Parliamentary", "Tourism", "Health", "Digital",
)  # fmt: skip
FIRST_DATE = dt.date(2023, 1, 12)
MENU_SIZE = 4  # relations pages linked from each relations page's own menu


def mission_name(index: int) -> str:
    """A mission's name: a real embassy city, numbered once the list runs out."""
    city = MISSION_CITIES[index % len(MISSION_CITIES)].lower().replace(" ", "")
    return city if index < len(MISSION_CITIES) else f"{city}{index // len(MISSION_CITIES)}"


def page_path(page: int) -> str:
    return f"/en/content/{1000 + page}/{TOPICS[page % len(TOPICS)].lower()}-cooperation-{page}"


def page_title(page: int) -> str:
    return f"{TOPICS[page % len(TOPICS)]} cooperation: part {page}"


def relations_menu(pages: int) -> list[tuple[str, str]]:
    """The home page's "Bilateral relations" menu: every page of the site."""
    return [(page_path(j), page_title(j)) for j in range(pages)]


@cache
def _vocabulary() -> tuple[str, ...]:
    english = [t for (lang, _id), t in SEOUL_PAGES.items() if lang == "en"]
    words = {w.strip(".,;:()\"'") for t in english for p in t.paragraphs for w in p.split()}
    return tuple(sorted(w for w in words if w.isascii() and w.isalpha()))


def _paragraph(rng: random.Random) -> str:
    vocab = _vocabulary()
    sentences = []
    for _ in range(rng.randint(2, 6)):
        words = rng.choices(vocab, k=rng.randint(8, 25))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def page_text(mission: str, page: int, version: int) -> tuple[list[str], str]:
    """Paragraphs and "last updated" date of a page's version (0 is the first).

    Each later version rewrites one paragraph; odd versions also move the date forward (an
    update), even ones keep it (a silent edit).
    """
    rng = random.Random(f"{mission}/{page}")
    target = rng.randint(30_500, 59_000) - 31_200  # the chrome is about 31.2 KB
    paragraphs: list[str] = []
    while len(paragraphs) < 2 or sum(len(p) + 8 for p in paragraphs) < target:
        paragraphs.append(_paragraph(rng))
    for edit in range(1, version + 1):
        edit_rng = random.Random(f"{mission}/{page}/{edit}")
        paragraphs[edit_rng.randrange(len(paragraphs))] = _paragraph(edit_rng)
    declared = FIRST_DATE + dt.timedelta(days=30 * ((version + 1) // 2))
    return paragraphs, declared.strftime("%d.%m.%Y")


def render_page(mission: str, page: int, version: int, pages: int) -> str:
    paragraphs, declared = page_text(mission, page, version)
    return content_page(
        mission=mission,
        lang="en",
        title=page_title(page),
        paragraphs=paragraphs,
        last_updated=declared,
        menu=relations_menu(min(pages, MENU_SIZE)),
        langs=("en",),
    )


def render_home(mission: str, pages: int) -> str:
    return home_page(mission=mission, lang="en", menu=relations_menu(pages), langs=("en",))


def compressed_size(mission: str, page: int, version: int, pages: int) -> int:
    """zlib (level 6, as the archive uses) of one version's raw bytes: the storage floor."""
    return len(zlib.compress(render_page(mission, page, version, pages).encode(), 6))


# -- the server process ---------------------------------------------------------------------


def serve(sites: int, pages: int, validators: bool = False) -> None:
    if sites > 250:
        raise SystemExit("at most 250 sites (127.0.0.2 … 127.0.0.251)")
    servers = []
    for i in range(sites):
        mission = mission_name(i)
        server = MirrorServer(host=f"127.0.0.{2 + i}", port=0).start()
        server.set_site({"/en": render_home(mission, pages)})
        for j in range(pages):
            server.set(page_path(j), render_page(mission, j, 0, pages), etag=validators)
        servers.append((mission, server))
    versions = [[0] * pages for _ in range(sites)]
    info = [{"mission": m, "base_url": s.base_url} for m, s in servers]
    print(json.dumps({"sites": info, "pages": pages}), flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            break
        if command == "bump":
            numbers = [int(a) for a in args]
            for i, j in zip(numbers[::2], numbers[1::2], strict=True):
                versions[i][j] += 1
                mission, server = servers[i]
                html = render_page(mission, j, versions[i][j], pages)
                server.set(page_path(j), html, etag=validators)
        for _mission, server in servers:
            server.clear_requests()  # the recorded requests would only grow
        print("ok", flush=True)
    for _mission, server in servers:
        server.stop()


class Ministry:
    """The orchestrator's handle on the server process, and the versions it serves."""

    def __init__(self, sites: int, pages: int, log: Path, validators: bool = False) -> None:
        self.pages = pages
        self._log = log.open("w")
        command = [sys.executable, __file__, "--sites", str(sites), "--pages", str(pages)]
        self.process = subprocess.Popen(
            [*command, "--validators"] if validators else command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            raise RuntimeError(f"the ministry server did not start: see {log}")
        started = json.loads(first)
        self.missions: list[str] = [s["mission"] for s in started["sites"]]
        self.base_urls: list[str] = [s["base_url"] for s in started["sites"]]
        self.versions = [[0] * pages for _ in self.missions]

    def urls(self, sites: range | None = None, *, home: bool = True) -> list[str]:
        chosen = sites if sites is not None else range(len(self.missions))
        out = []
        for i in chosen:
            base = self.base_urls[i]
            out += [base + "/en"] if home else []
            out += [base + page_path(j) for j in range(self.pages)]
        return out

    def bump(self, pages: list[tuple[int, int]]) -> None:
        for i, j in pages:
            self.versions[i][j] += 1
        self._command("bump " + " ".join(f"{i} {j}" for i, j in pages))

    def floor_bytes(self, sites: range) -> int:
        """zlib size of every distinct version served so far of these sites' pages."""
        return sum(
            _floor(self.missions[i], j, v, self.pages)
            for i in sites
            for j in range(self.pages)
            for v in range(self.versions[i][j] + 1)
        )

    def close(self) -> None:
        try:
            self._command("quit", answer=False)
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self._log.close()

    def _command(self, line: str, *, answer: bool = True) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        if answer and self.process.stdout.readline().strip() != "ok":
            raise RuntimeError(f"the ministry server did not answer {line[:40]!r}")


@cache
def _floor(mission: str, page: int, version: int, pages: int) -> int:
    return compressed_size(mission, page, version, pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--validators", action="store_true", help="ETags and 304s")
    args = parser.parse_args()
    serve(args.sites, args.pages, args.validators)


if __name__ == "__main__":
    main()
