"""Security: files are served only from inside the album, secrets never reach output, uploads are capped."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from peaklens.errors import BadInput
from peaklens.ui.files import resolve_in_album
from tests.conftest import run_cli

SECRET = "c2VjcmV0LWFwaS1rZXktZG8tbm90LWxlYWs="


@pytest.fixture
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    (root / "trip").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "trip" / "a.jpg")
    (tmp_path / "outside.jpg").write_bytes((root / "trip" / "a.jpg").read_bytes())
    os.symlink(tmp_path / "outside.jpg", root / "trip" / "link-out.jpg")
    os.symlink(tmp_path, root / "escape")
    os.symlink(root / "trip" / "a.jpg", root / "trip" / "link-in.jpg")
    return root


def test_only_files_inside_the_album_are_served(album: Path) -> None:
    assert resolve_in_album(album, "trip/a.jpg") == (album / "trip" / "a.jpg").resolve()
    assert resolve_in_album(album, "trip/link-in.jpg") == (album / "trip" / "a.jpg").resolve()
    for bad in (
        "../outside.jpg",
        "trip/../../outside.jpg",
        str(album.parent / "outside.jpg"),
        "trip/link-out.jpg",
        "escape/outside.jpg",
        "",
        "trip/a.jpg\x00.png",
        "/etc/passwd",
    ):
        with pytest.raises(BadInput, match=r"Refused|outside"):
            resolve_in_album(album, bad)
    with pytest.raises(BadInput, match="no longer in the album"):
        resolve_in_album(album, "trip/gone.jpg")


def test_scanning_never_follows_links_out_of_the_album(album: Path) -> None:
    from peaklens.scan import scan_album

    paths = [f.rel_path for f in scan_album(album)]
    assert "trip/a.jpg" in paths
    assert "trip/link-out.jpg" not in paths and not any(p.startswith("escape/") for p in paths)


def test_credentials_never_appear_in_errors_or_config(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PEAKLENS_ES_API_KEY", SECRET)
    monkeypatch.setenv("PEAKLENS_ES_PASSWORD", SECRET + "pw")
    monkeypatch.setenv("PEAKLENS_ES_USERNAME", "elastic")
    monkeypatch.setenv("PEAKLENS_ES_MAX_RETRIES", "0")
    result = run_cli("peaks")
    assert result.code == 1
    assert "not reachable" in result.stderr and "127.0.0.1:9" in result.stderr
    assert SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr
    shown = run_cli("config")
    assert SECRET not in shown.stdout and "es_api_key = ********" in shown.stdout


def test_uploads_are_size_and_pixel_capped() -> None:
    from peaklens.imaging import BadImage, open_upload

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="PNG")
    with pytest.raises(BadImage, match="limit"):
        open_upload(buffer.getvalue(), max_bytes=100)
    huge = io.BytesIO()
    Image.new("1", (20000, 10000)).save(huge, format="PNG")  # 200 MP, a few KB on disk
    with pytest.raises(BadImage, match="too large"):
        open_upload(huge.getvalue(), max_bytes=50 * 1024 * 1024)
    assert open_upload(buffer.getvalue(), max_bytes=1024 * 1024).image.size == (64, 64)
