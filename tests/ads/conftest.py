# The device fixtures, for the tests of campaigns that a player plays.
from tests.devices.conftest import paired, player  # noqa: F401
