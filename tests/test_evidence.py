"""`mfawatch evidence` and the change page's links to the exact fetches behind a change: a
date-only change, after real crawls of the mirror, on SQLite or PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from mfawatch.mirror.pages import relations_page, relations_path
from mfawatch.web import create_app

with warnings.catch_warnings():  # Starlette prefers httpx2 now; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.crawl
EN35 = relations_path("en", 35)


@pytest.fixture
def date_only(mirror, mfawatch) -> dict[str, object]:
    old = relations_page("seoul", "en", 35).encode()
    mirror.set(EN35, old)
    mfawatch.crawl()
    new = relations_page("seoul", "en", 35, last_updated="05.03.2023").encode()
    mirror.set(EN35, new)
    mfawatch.crawl()
    (change,) = mfawatch.json("changes", "--status", "all")
    assert change["kind"] == "date_only"
    assert mfawatch("review", str(change["id"]), "--accept", "--note", "checked").code == 0
    return {"id": change["id"], "old": old, "new": new}


def test_bundle_holds_both_bodies_and_checks_without_mfawatch(date_only, mfawatch, tmp_path):
    out = tmp_path / "bundle.zip"
    result = mfawatch("evidence", str(date_only["id"]), "-o", str(out))
    assert result.code == 0, result.stderr
    with zipfile.ZipFile(out) as bundle:
        bundle.extractall(tmp_path)
    folder = tmp_path / f"change-{date_only['id']}"
    assert (folder / "old/body.html").read_bytes() == date_only["old"]
    assert (folder / "new/body.html").read_bytes() == date_only["new"]
    assert b"28.02.2023" in date_only["old"] and b"05.03.2023" in date_only["new"]
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 11, sums.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    roles = {f["role"]: f for f in manifest["fetches"]}
    old, new = roles["last fetch of the old state"], roles["first fetch of the new state"]
    assert old["body_sha256"] == hashlib.sha256(date_only["old"]).hexdigest()
    assert new["body_sha256"] == hashlib.sha256(date_only["new"]).hexdigest()
    assert (old["last_updated"], new["last_updated"]) == ("2023-02-28", "2023-03-05")
    # The chain: each hash recomputed from the bytes given, after the one before it.
    for fetch in manifest["fetches"]:
        data = fetch["chain_input"].encode()
        assert hashlib.sha256(data).hexdigest() == fetch["chain_hash"]
        link = json.loads(data)
        assert (link["v"], link["prev"]) == (fetch["chain_version"], fetch["chain_prev"])
        assert link["body_hash"] == fetch["body_sha256"]
        assert data == json.dumps(link, sort_keys=True, separators=(",", ":")).encode()
    assert old["chain_prev"] is None and new["chain_prev"] == old["chain_hash"]
    head = manifest["page_chain_head"]
    assert (head["fetch_id"], head["chain_hash"]) == (new["id"], new["chain_hash"])
    readme = (folder / "README.txt").read_text()
    assert "mfawatch verify --against chain-head.txt" in readme and "sha256sum" in readme
    checked = mfawatch("verify", "--against", str(folder / "chain-head.txt"))
    assert checked.code == 0, checked.stdout + checked.stderr
    assert "1 lodged heads checked: every one is still in its chain" in checked.stdout
    forged = folder / "chain-head.txt"
    forged.write_text(forged.read_text().replace(head["chain_hash"], "0" * 64))
    assert mfawatch("verify", "--against", str(forged)).code == 1
    assert manifest["change"]["kind"] == "date_only"
    reviews = json.loads((folder / "reviews.json").read_text())
    assert [(r["status"], r["note"]) for r in reviews] == [("accepted", "checked")]
    assert "sha256sum -c SHA256SUMS" in (folder / "README.txt").read_text()
    html = (folder / "diff.html").read_text()
    assert "<script" not in html and "2023-03-05" in html
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v",
                            str(folder / "fetches.warc.gz")], capture_output=True, text=True,
                           check=False)  # fmt: skip
    assert check.returncode == 0 and check.stdout.count("digest pass") >= 4


def test_an_unknown_change_is_one_line(mfawatch, date_only, tmp_path):
    result = mfawatch("evidence", "999", "-o", str(tmp_path / "x.zip"))
    assert result.code == 2 and result.stderr.startswith("mfawatch: error: no change")
    assert not (tmp_path / "x.zip").exists()


def test_change_page_links_both_fetches_and_the_bundle(date_only, sessions):
    with TestClient(create_app(sessions), follow_redirects=False) as client:
        page = client.get(f"/changes/{date_only['id']}").text
        assert f'href="/changes/{date_only["id"]}/evidence.zip"' in page
        links = [part.split('"')[0] for part in page.split('href="/fetches/')[1:]]
        assert len(links) == 2
        bodies = [client.get(f"/fetches/{link}") for link in links]
        assert [b.content for b in bodies] == [date_only["old"], date_only["new"]]
        assert all("sandbox" in b.headers["content-security-policy"] for b in bodies)
        got = client.get(f"/changes/{date_only['id']}/evidence.zip")
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(got.content)) as bundle:
            names = bundle.namelist()
        assert f"change-{date_only['id']}/manifest.json" in names
        assert client.get("/fetches/999999/raw").status_code == 404
