"""The README and docs stay true: figures from one source, short, no machine's paths, links that resolve."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import readme_figures  # noqa: E402


def test_the_readme_figures_are_the_benchmark_tables() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    expected = readme_figures.figures((REPO / "docs" / "BENCHMARKS.md").read_text(encoding="utf-8"))
    assert readme_figures.current_block(readme) == expected, "run: python scripts/readme_figures.py --write"


def test_the_figures_follow_a_changed_benchmark_table() -> None:
    benchmarks = (REPO / "docs" / "BENCHMARKS.md").read_text(encoding="utf-8")
    changed = re.sub(r"(seed's loop = )[\d.]+×", r"\g<1>9.99×", benchmarks)
    assert changed != benchmarks
    assert "= **9.99×**" in readme_figures.figures(changed)


def test_the_readme_is_short() -> None:
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 120


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    suffixes = {".md", ".py", ".sh", ".yaml", ".yml", ".toml", ".txt"}
    return [
        REPO / name
        for name in listed.splitlines()
        if Path(name).suffix in suffixes and (REPO / name).is_file()
    ]


def test_no_file_names_a_path_of_one_machine() -> None:
    machine_paths = re.compile(r"(/work/main|/home/\w+/|/Users/\w+/|/root/\.)")
    offenders = [
        str(path.relative_to(REPO))
        for path in _tracked_text_files()
        if path.name != "test_readme.py"
        and machine_paths.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_every_link_in_the_docs_resolves() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    broken = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in link.findall(doc.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(REPO)} -> {target}")
    assert broken == []
