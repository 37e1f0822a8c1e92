"""Make `ansible_collections.orocloud.ops` importable for pytest, the way ansible-core finds it.

The checkout is linked at `.build/collections/ansible_collections/orocloud/ops` (`make collection`);
ANSIBLE_COLLECTIONS_PATH may point elsewhere, so the finder is given both.
"""

import os
from pathlib import Path

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_ROOT = Path(__file__).resolve().parent.parent
_PATHS = [str(_ROOT / ".build" / "collections")]
_PATHS += [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]

_AnsibleCollectionFinder(paths=_PATHS)._install()  # pylint: disable=protected-access
