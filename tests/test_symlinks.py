"""Links in an indexed folder: links out of the corpus are skipped on build and update,
unless the build is told to follow them (and then updates do too)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant import Index, IndexWriter, verify_index

# -- symlinks ----------------------------------------------------------------------------


def linked_corpus(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret notes\n\nNot part of the news corpus at all.\n")
    corpus = tmp_path / "corpus"
    (corpus / "real").mkdir(parents=True)
    (corpus / "real" / "story.txt").write_text("Story\n\nNegotiators met in Baku again.\n")
    (corpus / "passwd_link.txt").symlink_to(outside / "secret.txt")
    (corpus / "outside_folder").symlink_to(outside)
    (corpus / "z_inner_folder").symlink_to(corpus / "real")
    return corpus, outside


def test_links_out_of_the_corpus_are_skipped_on_build_and_update(tmp_path, fake_encoder):
    corpus, _ = linked_corpus(tmp_path)
    index_dir = tmp_path / "idx"
    report = IndexWriter(index_dir, encoder=fake_encoder).build([str(corpus)])
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert set(reasons) == {"passwd_link.txt", "outside_folder"}
    assert "outside the indexed folders" in reasons["passwd_link.txt"]
    assert "--follow-links" in reasons["outside_folder"]
    assert report.documents == 1
    # Skipped on purpose is not "changed": verify passes and reports them.
    verified = verify_index(index_dir, encoder=fake_encoder)
    assert verified.ok, [c.detail for c in verified.checks]
    assert "2 skipped" in verified.checks[-1].detail
    (corpus / "real" / "story.txt").write_text("Story\n\nNegotiators met in Baku twice.\n")
    updated = IndexWriter(index_dir, encoder=fake_encoder).update()
    assert updated.files_embedded == [str(corpus / "real" / "story.txt")]
    assert verify_index(index_dir, encoder=fake_encoder).ok


def test_follow_links_indexes_what_links_point_to_on_build_and_update(cli, tmp_path):
    corpus, outside = linked_corpus(tmp_path)
    index_dir = tmp_path / "idx"
    result = cli("index", "build", str(corpus), "--index", str(index_dir), "--follow-links")
    assert result.exit_code == 0, result.output
    with Index(index_dir) as index:
        sources = sorted(Path(d.source).relative_to(corpus) for d in index.store.documents())
    assert [str(s) for s in sources] == [
        "outside_folder/secret.txt",
        "passwd_link.txt",
        "real/story.txt",
    ]
    (outside / "secret.txt").write_text("Secret notes\n\nNow edited outside the corpus.\n")
    updated = cli("index", "update", "--index", str(index_dir), "--json")
    assert updated.exit_code == 0, updated.output
    assert sorted(json.loads(updated.stdout)["files_embedded"]) == [
        str(corpus / "outside_folder" / "secret.txt"),
        str(corpus / "passwd_link.txt"),
    ]
    assert verify_index(index_dir).ok
