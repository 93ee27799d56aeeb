"""Evidence packs: rendering, the sha256 manifest, atomic publication."""
