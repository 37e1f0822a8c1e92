"""Stand-in for pip's get-pip.py bootstrap script, used by `ansible-test sanity`.

ansible-test bootstraps pip into its per-test virtual environments with a get-pip.py that it downloads
from outside PyPI; machines that reach only PyPI cannot fetch it. This script does the same job with the
standard library: `ensurepip` installs the pip bundled with Python, which then installs the requested
packages (the pinned pip among them) from the package index. Arguments are get-pip's: pip install
options and requirement specifiers, plus get-pip's own --no-setuptools / --no-wheel.
"""

import ensurepip
import os
import runpy
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    saved = os.environ.get("PIP_CONFIG_FILE")
    ensurepip.bootstrap(upgrade=True)
    # ensurepip turns pip's configuration files off for the whole process; the install below must
    # honour them (index, proxy, CA bundle), as get-pip.py would.
    if saved is None:
        os.environ.pop("PIP_CONFIG_FILE", None)
    else:
        os.environ["PIP_CONFIG_FILE"] = saved
    sys.argv = ["pip", "install", "--quiet", "--upgrade", *args]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
