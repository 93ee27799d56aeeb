"""Whether a manifest is the one that was published: its sha256 (the evidence digest) against a
digest held outside the pack.

A manifest lists the sha256 of every file, so a pack whose files match its manifest is only as
trustworthy as the manifest: anyone who edits a table can rewrite the manifest too. The
*anchor* is a digest the editor cannot rewrite: for pipeline packs, the registered model
version's ``rai.evidence_digest`` tag, written when the pack was published; for
``rai evaluate-file`` packs (no registry entry), the digest printed when the pack was created,
which the user records and gives back with ``--digest``. Because the digest covers the whole
``manifest.json``, the manifest's own fields (model version, git commit, lineage) are covered.

Examples
--------
>>> compare_anchor("ab" * 32, "ab" * 32, "models:/m/1").ok
True
>>> compare_anchor("ab" * 32, "cd" * 32, "models:/m/1").line()  # doctest: +ELLIPSIS
'anchor     DIFFERS: models:/m/1 holds cdcdcdcdcdcdcdcd…, this manifest is abababababababab…; ...'
"""

from __future__ import annotations

from dataclasses import dataclass

ANCHORED, DIFFERS, MISSING, OFFLINE = "anchored", "differs", "missing", "offline"
SHOWN = 16

MSG_ANCHORED = "anchor     ok: {source} holds this manifest's digest {actual}…"
MSG_DIFFERS = (
    "anchor     DIFFERS: {source} holds {expected}…, this manifest is {actual}…; the pack is "
    "not the one that was published (edited, or superseded by a newer evaluation)"
)
MSG_MISSING = "anchor     MISSING: {reason}"
MSG_OFFLINE = (
    "anchor     not checked (--offline): the files match this manifest, but nothing shows the "
    "manifest is the one that was published"
)


@dataclass(frozen=True)
class Anchor:
    """The outcome of comparing a manifest's digest with the recorded one."""

    status: str
    actual: str
    expected: str | None = None
    source: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Anchored, or not asked for (``--offline``, which every output says)."""
        return self.status in (ANCHORED, OFFLINE)

    def line(self) -> str:
        """One line for ``rai verify`` and ``rai gate``."""
        if self.status == ANCHORED:
            return MSG_ANCHORED.format(source=self.source, actual=self.actual[:SHOWN])
        if self.status == DIFFERS:
            return MSG_DIFFERS.format(
                source=self.source,
                expected=(self.expected or "")[:SHOWN],
                actual=self.actual[:SHOWN],
            )
        if self.status == OFFLINE:
            return MSG_OFFLINE
        return MSG_MISSING.format(reason=self.reason)


def compare_anchor(actual: str, expected: str | None, source: str, reason: str = "") -> Anchor:
    """``actual`` (sha256 of ``manifest.json``) against ``expected`` (held by ``source``);
    ``expected`` None is a missing anchor, explained by ``reason``."""
    if expected is None:
        return Anchor(MISSING, actual, None, source, reason)
    status = ANCHORED if expected.strip().lower() == actual else DIFFERS
    return Anchor(status, actual, expected.strip().lower(), source)


def offline(actual: str) -> Anchor:
    return Anchor(OFFLINE, actual)
