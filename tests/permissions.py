"""Running a command so that file permission bits bind it, also when the suite runs as root."""

import os
import shutil

import pytest


def bound_by_permission_bits(command: list) -> list:
    """``command`` run so that permission bits bind it: as it is for an ordinary user;
    for root, without the capabilities that let root write any file."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, without setpriv to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *command]
