"""Shared fixtures: tiny SigLIP models built offline, settings on a fresh store, a CLI runner."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.model_fixtures import tiny_model_dir

#: fixtures shared by several test modules, from their support modules
pytest_plugins = ["tests.cli_support", "tests.search_album", "tests.ui.browser_support"]

REPO = Path(__file__).resolve().parents[1]
SAMPLE_ALBUM = REPO / "sample_album"


@pytest.fixture(scope="session")
def tiny_siglip() -> Path:
    """A tiny random SiglipModel (the default's architecture), loaded through the production path."""
    return tiny_model_dir("siglip")


@pytest.fixture(scope="session")
def tiny_siglip2() -> Path:
    """A tiny random Siglip2Model (NaFlex)."""
    return tiny_model_dir("siglip2")


def copy_trek_photos(folder: Path, count: int) -> Path:
    """The first ``count`` real trek JPEGs copied (mtimes kept) into ``folder``, created if needed."""
    folder.mkdir(parents=True, exist_ok=True)
    for photo in TREK_JPEGS[:count]:
        shutil.copy2(photo, folder / photo.name)
    return folder


def peaklens_env(model: Path, root: Path) -> dict[str, str]:
    """PEAKLENS_* for an embedded store under ``root`` and ``model``, with an empty config file so that no
    user config leaks in."""
    (root / "no-config.yaml").write_text("{}\n")
    return {
        "PEAKLENS_MODEL": str(model),
        "PEAKLENS_DATA_DIR": str(root / "store"),
        "PEAKLENS_CONFIG": str(root / "no-config.yaml"),
        "PEAKLENS_STORE": "embedded",
    }


@pytest.fixture
def env(tmp_path: Path, tiny_siglip: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PEAKLENS_* for a fresh embedded store and the tiny model; no config file leaks in."""
    values = peaklens_env(tiny_siglip, tmp_path)
    for key in [
        k
        for k in os.environ
        if k.startswith("PEAKLENS_") and k not in ("PEAKLENS_ES_URL", "PEAKLENS_TEST_MODEL")
    ]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """Run the real CLI entry point in-process (the model stays cached between calls)."""
    from peaklens.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    import sys

    argv = sys.argv
    sys.argv = ["peaklens", *args]
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            from peaklens import cli

            cli.out.file = stdout
            cli.err.file = stderr
            try:
                main()
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.argv = argv
        from peaklens import cli

        cli.out.file = None  # type: ignore[assignment]
        cli.err.file = None  # type: ignore[assignment]
    return CliResult(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def cli(env: dict[str, str]) -> Iterator[object]:
    yield run_cli


SHARED = REPO.parent / "shared"
TREK_JPEGS = sorted((SHARED / "trek" / "jpeg").glob("*.jpg"))


@dataclass
class IndexedAlbum:
    album: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def indexed_album(tmp_path_factory: pytest.TempPathFactory, tiny_siglip: Path) -> IndexedAlbum:
    """The sample album plus 8 real trek photos (GPS, heading, +05:45 times), indexed on an embedded store."""

    from peaklens.config import Settings
    from peaklens.embed.loader import load_embedder
    from peaklens.index import index_album
    from peaklens.store.factory import open_store

    root = tmp_path_factory.mktemp("indexed")
    album = root / "album"
    shutil.copytree(SAMPLE_ALBUM, album, ignore=shutil.ignore_patterns("*.md"))
    copy_trek_photos(album / "trek", 8)
    env = peaklens_env(tiny_siglip, root)
    settings = Settings(model=str(tiny_siglip), data_dir=root / "store", store="embedded")
    store = open_store(settings)
    index_album(album, settings, load_embedder(settings), store)
    store.close()
    return IndexedAlbum(album, env)


@pytest.fixture(scope="session")
def noida_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Elasticsearch 8 emulator for the whole session (tests use their own index names)."""
    from tests.es_server import running_noida

    with running_noida(tmp_path_factory.mktemp("noida") / "data") as server:
        yield server.url
