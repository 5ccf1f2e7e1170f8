"""``NOT_GIVEN``, the default of every per-call setting, survives copying and pickling
as the same object, so code that compares with ``is NOT_GIVEN`` keeps working."""

from __future__ import annotations

import copy
import pickle

from polar_links import NOT_GIVEN


def test_not_given_pickles_and_copies_to_the_same_object() -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(NOT_GIVEN, protocol)) is NOT_GIVEN
    assert copy.deepcopy({"timeout": NOT_GIVEN})["timeout"] is NOT_GIVEN
    assert copy.copy(NOT_GIVEN) is NOT_GIVEN
