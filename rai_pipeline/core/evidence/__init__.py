"""Evidence packs: the documents (templates only), risk register and checklist, the sha256
manifest, atomic publication and verification. A new document goes here. Imports every other
package of ``core``."""
