"""Skipped files: listed on the write that first meets them, then counted by type in
one line; ``--verbose`` lists every one."""

from __future__ import annotations

from click.testing import CliRunner

from assistant.frontends.cli import main
from assistant.ingest.sources import SkippedFile, skipped_summary


def _skipped_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped")]


def test_the_summary_counts_skipped_files_by_type():
    skipped = [
        SkippedFile(name, f"{name}: unsupported type")
        for name in ["a.png", "b.PNG", "c.css", "d.png", "Makefile", "e.css", "f.gz"]
    ]
    assert skipped_summary(skipped) == "skipped 7 files: 3 .png, 2 .css, 1 .gz, 1 no extension"
    assert skipped_summary([]) is None


def test_an_update_lists_skipped_files_once_then_counts_them(tmp_path):
    corpus = tmp_path / "site"
    corpus.mkdir()
    (corpus / "page.txt").write_text("Harbour plan\n\nThe council approved the harbour plan.\n")
    for name in ("logo.png", "icon.png", "style.css"):
        (corpus / name).write_bytes(b"\x89PNG not text")
    index_dir = str(tmp_path / "idx")
    runner = CliRunner()

    built = runner.invoke(main, ["index", "build", str(corpus), "--index", index_dir])
    assert built.exit_code == 0, built.output
    assert _skipped_lines(built.stderr) == [
        f"skipped: {corpus / 'icon.png'}: unsupported type (.png)",
        f"skipped: {corpus / 'logo.png'}: unsupported type (.png)",
        f"skipped: {corpus / 'style.css'}: unsupported type (.css)",
        "skipped 3 files: 2 .png, 1 .css",
    ]

    updated = runner.invoke(main, ["index", "update", "--index", index_dir])
    assert updated.exit_code == 0, updated.output
    assert _skipped_lines(updated.stderr) == ["skipped 3 files: 2 .png, 1 .css"]

    (corpus / "new.gif").write_bytes(b"GIF89a")
    updated = runner.invoke(main, ["index", "update", "--index", index_dir])
    assert _skipped_lines(updated.stderr) == [
        f"skipped: {corpus / 'new.gif'}: unsupported type (.gif)",
        "skipped 4 files: 2 .png, 1 .css, 1 .gif",
    ]

    verbose = runner.invoke(main, ["index", "update", "--index", index_dir, "--verbose"])
    assert len(_skipped_lines(verbose.stderr)) == 5
