"""Evidence packs are published whole or not at all, and never overwrite a previous pack."""

import json

import pytest

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, build_manifest, write_manifest
from rai_pipeline.core.evidence.publish import HISTORY_DIR, MSG_NO_MANIFEST, publish_pack
from rai_pipeline.core.storage import file_sha256


def make_pack(folder, content: str):
    folder.mkdir(parents=True)
    (folder / "slice_metrics.csv").write_text(content)
    manifest = build_manifest(folder, inputs=[], lineage={"evaluation_id": content})
    return write_manifest(folder, manifest)


def test_manifest_lists_every_output_with_its_sha256(tmp_path):
    pack = tmp_path / "pack"
    make_pack(pack, "a,b\n1,2\n")
    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    assert manifest["outputs"] == [
        {
            "path": "slice_metrics.csv",
            "bytes": 8,
            "sha256": file_sha256(pack / "slice_metrics.csv"),
        }
    ]
    import hashlib

    assert file_sha256(pack / "slice_metrics.csv") == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_a_staging_folder_without_manifest_is_never_published(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "slice_metrics.csv").write_text("partial")
    with pytest.raises(ValueError) as error:
        publish_pack(staging, tmp_path / "evidence" / "m" / "1")
    assert str(error.value) == MSG_NO_MANIFEST.format(staging=staging, manifest=MANIFEST_NAME)
    assert not (tmp_path / "evidence" / "m" / "1").exists()


def test_republishing_keeps_the_previous_pack_in_history(tmp_path):
    target = tmp_path / "evidence" / "m" / "1"
    first_digest = make_pack(tmp_path / "s1", "first")
    publish_pack(tmp_path / "s1", target)
    make_pack(tmp_path / "s2", "second")
    publish_pack(tmp_path / "s2", target)
    assert (target / "slice_metrics.csv").read_text() == "second"
    archived = tmp_path / "evidence" / "m" / HISTORY_DIR / "1" / first_digest[:16]
    assert (archived / "slice_metrics.csv").read_text() == "first"
    assert not (tmp_path / "s1").exists() and not (tmp_path / "s2").exists()
