"""Publication and the registry move together: whatever step fails (writing any one tag,
moving the pack into place, putting the tags back once), the evidence digest the registry holds
is the sha256 of the manifest that is in place, or neither exists. A real MLflow registry
(sqlite) with failures injected into its calls."""

from __future__ import annotations

import pytest

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.core.evidence import publish
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, build_manifest, write_manifest
from rai_pipeline.core.evidence.publish import (
    RegistryMismatchError,
    publish_registered,
)
from rai_pipeline.core.governance.registry import (
    EVALUATED_TAG,
    EVIDENCE_DIGEST_TAG,
    GATE_TAG,
    ModelVersionRef,
)
from rai_pipeline.core.storage import file_sha256

REF = ModelVersionRef("m", "1")


class Injected(RuntimeError):
    pass


class FailingStore:
    """The real store, with the ``fail_at``-th registry write (counting from 0) failing."""

    def __init__(self, store: MlflowStore, fail_at: set[int]):
        self.store, self.fail_at, self.calls = store, fail_at, 0

    def _write(self, action, *args):
        call, self.calls = self.calls, self.calls + 1
        if call in self.fail_at:
            raise Injected(f"injected failure of registry write {call}")
        return action(*args)

    def set_version_tags(self, ref, tags):
        for key, value in tags.items():  # one write per tag, as MLflow does
            self._write(self.store.set_version_tags, ref, {key: value})

    def delete_version_tags(self, ref, keys):
        for key in keys:
            self._write(self.store.delete_version_tags, ref, [key])

    def version_tags(self, ref):
        return self.store.version_tags(ref)


@pytest.fixture
def store(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(REF.name)
    client.create_model_version(REF.name, source=(tmp_path / "model").as_uri())
    monkeypatch.setattr(publish, "RESTORE_WAIT_SECONDS", 0.0)
    return MlflowStore(tracking_uri=uri, artifact_root=str(tmp_path / "artifacts"))


def staged(folder, content):
    folder.mkdir(parents=True)
    (folder / "fairness_metrics.csv").write_text(content)
    digest = write_manifest(folder, build_manifest(folder, inputs=[], lineage={"c": content}))
    return digest


def tags_for(digest):
    return {EVALUATED_TAG: "run", GATE_TAG: "fail", EVIDENCE_DIGEST_TAG: digest}


def agree(store, target):
    held = store.version_tags(REF).get(EVIDENCE_DIGEST_TAG)
    placed = file_sha256(target / MANIFEST_NAME) if (target / MANIFEST_NAME).exists() else None
    return held == placed


def test_a_clean_publication_writes_the_digest_of_the_pack_in_place(store, tmp_path):
    target = tmp_path / "evidence" / "m" / "1"
    digest = staged(tmp_path / "s", "first")
    publish_registered(tmp_path / "s", target, registry=store, ref=REF, tags=tags_for(digest))
    assert agree(store, target) and store.version_tags(REF)[EVIDENCE_DIGEST_TAG] == digest


@pytest.mark.parametrize("previous", [False, True], ids=["first pack", "over a previous pack"])
@pytest.mark.parametrize("fail_at", [0, 1, 2], ids=["tag 1", "tag 2", "tag 3"])
def test_a_failed_tag_write_leaves_registry_and_pack_as_before(store, tmp_path, fail_at, previous):
    target = tmp_path / "evidence" / "m" / "1"
    before = None
    if previous:
        before = staged(tmp_path / "old", "old")
        publish_registered(tmp_path / "old", target, registry=store, ref=REF, tags=tags_for(before))
    digest = staged(tmp_path / "s", "new")
    failing = FailingStore(store, {fail_at})
    with pytest.raises(Injected):
        publish_registered(tmp_path / "s", target, registry=failing, ref=REF, tags=tags_for(digest))
    assert agree(store, target)
    assert store.version_tags(REF).get(EVIDENCE_DIGEST_TAG) == before
    assert (EVALUATED_TAG in store.version_tags(REF)) == previous  # the sensor may retry


@pytest.mark.parametrize("previous", [False, True], ids=["first pack", "over a previous pack"])
def test_a_failed_move_into_place_puts_the_tags_back(store, tmp_path, monkeypatch, previous):
    target = tmp_path / "evidence" / "m" / "1"
    before = None
    if previous:
        before = staged(tmp_path / "old", "old")
        publish_registered(tmp_path / "old", target, registry=store, ref=REF, tags=tags_for(before))
    digest = staged(tmp_path / "s", "new")
    real_rename = publish.move_into_place.__globals__["os"].rename

    def rename(source, destination):
        if str(source).endswith("/s"):
            raise OSError(28, "No space left on device")
        return real_rename(source, destination)

    monkeypatch.setattr(publish.move_into_place.__globals__["os"], "rename", rename)
    with pytest.raises(OSError):
        publish_registered(tmp_path / "s", target, registry=store, ref=REF, tags=tags_for(digest))
    monkeypatch.undo()
    assert agree(store, target)
    assert store.version_tags(REF).get(EVIDENCE_DIGEST_TAG) == before


def test_putting_the_tags_back_is_retried_and_then_said(store, tmp_path):
    target = tmp_path / "evidence" / "m" / "1"
    digest = staged(tmp_path / "s", "new")
    # the third tag write fails, then the first attempt to put the tags back fails too
    retried = FailingStore(store, {2, 3})
    with pytest.raises(Injected):
        publish_registered(tmp_path / "s", target, registry=retried, ref=REF, tags=tags_for(digest))
    assert agree(store, target)
    # every attempt fails: the error says the registry may disagree and how to repair it
    broken = FailingStore(store, set(range(2, 50)))
    with pytest.raises(RegistryMismatchError, match="evaluating the version again repairs it"):
        publish_registered(tmp_path / "s", target, registry=broken, ref=REF, tags=tags_for(digest))


@pytest.mark.parametrize("tags_written", [True, False], ids=["after the tags", "before them"])
def test_a_kill_between_tag_write_and_move_is_settled_by_the_next_sweep(tmp_path, tags_written):
    """A process killed after writing the tags and before moving the pack leaves the registry
    naming the staged pack: the next sweep moves that pack into place. Killed before writing
    them, the staged pack is only debris and goes."""
    import dagster as dg
    from mlflow import MlflowClient

    from rai_pipeline.app.recovery import sweep
    from rai_pipeline.core.evidence.publish import HISTORY_DIR
    from rai_pipeline.core.evidence.verify import verify_pack
    from rai_pipeline.settings import RaiHome

    home = RaiHome(tmp_path / "home")
    (home.root / "mlflow").mkdir(parents=True)
    client = MlflowClient(tracking_uri=home.tracking_uri, registry_uri=home.tracking_uri)
    client.create_registered_model(REF.name)
    client.create_model_version(REF.name, source=(tmp_path / "model").as_uri())
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    target = home.pack_dir(REF.name, REF.version)
    lineage = {"model_name": REF.name, "model_version": REF.version}
    old, new = tmp_path / "old", home.staging / "m-1-0a1b2c3d"
    for folder, content in ((old, "old"), (new, "new")):
        folder.mkdir(parents=True)
        (folder / "fairness_metrics.csv").write_text(content)
        write_manifest(folder, build_manifest(folder, inputs=[], lineage=lineage | {"c": content}))
    before, after = file_sha256(old / MANIFEST_NAME), file_sha256(new / MANIFEST_NAME)
    publish_registered(old, target, registry=store, ref=REF, tags=tags_for(before))
    if tags_written:  # what the killed process did last
        store.set_version_tags(REF, tags_for(after))
    assert agree(store, target) is not tags_written
    report = sweep(home, instance=dg.DagsterInstance.ephemeral(), tracking_uri=home.tracking_uri)
    assert agree(store, target)
    assert verify_pack(target).intact
    assert file_sha256(target / MANIFEST_NAME) == (after if tags_written else before)
    assert not new.exists()
    assert report.completed == ([target] if tags_written else [])
    kept = target.parent / HISTORY_DIR / REF.version / before[:16]
    assert kept.is_dir() is tags_written  # the previous pack is kept, never overwritten
