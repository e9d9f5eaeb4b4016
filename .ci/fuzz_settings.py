"""Settings of the schemathesis run (`.ci/fuzz`): the production settings, with what a fuzzer needs.

Rate limits are lifted (thousands of requests from one principal would otherwise be answered 429, a
documented answer, and the operations behind them never exercised); URL media downloads give up fast
(the fuzzer invents host names and nothing off this machine answers).
"""

from signage.settings import *  # noqa: F403

SIGNAGE_RATE_LIMITS = [("*", ["*"], 10**9, 10**9)]
SIGNAGE_MEDIA_FETCH_TIMEOUT = 2
