"""Every test gets its own state folder, and none inherits the developer's plugin selection or debug flag."""

import pytest


@pytest.fixture(autouse=True)
def isolated_home(opus1_home):
    """``OPUS1_INT_HOME`` points into the test's own tmp_path (``opus1_integrations.testing``)."""
    return opus1_home
