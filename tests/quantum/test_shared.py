"""Live-object parameters shared by clone and left out of pickles (``quantum._shared``)."""

from __future__ import annotations

import pickle

import pytest
from sklearn.base import BaseEstimator

from qbloodcell.quantum import QuantumKernelSVC, VQCClassifier
from qbloodcell.quantum._shared import clone_sharing, without_unpicklable


class _Holder(BaseEstimator):
    def __init__(self, live=None, plain=None):
        self.live = live
        self.plain = plain


def test_clone_shares_the_named_parameters_and_copies_the_others():
    live, plain = object(), [1, 2]
    copy = clone_sharing(_Holder(live=live, plain=plain), ["live", "absent"])
    assert copy.live is live
    assert copy.plain == plain
    assert copy.plain is not plain


def test_unpicklable_values_are_set_to_none_with_a_warning_naming_the_consequence():
    def local():  # a local function cannot be pickled
        pass

    state = {"live": local, "other": local, "plain": 3}
    with pytest.warns(UserWarning, match="cannot be pickled") as caught:
        out = without_unpicklable(
            state,
            ["live", "other"],
            owner="thing",
            consequences={"live": "does without it"},
        )
    assert out == {"live": None, "other": None, "plain": 3}
    messages = [str(w.message) for w in caught]
    assert "live of type function cannot be pickled" in messages[0]
    assert "the unpickled thing has live=None and does without it until" in messages[0]
    assert "has other=None until you set it again with set_params(other=...)" in messages[1]


def test_picklable_values_stay():
    state = {"live": [1], "plain": 2}
    assert without_unpicklable(state, ["live"], owner="thing") == {"live": [1], "plain": 2}


def test_the_estimators_use_it():
    def callback(*args):
        pass

    class LocalSampler:
        def run(self, pubs, shots=None):
            raise AssertionError("not run")

    sampler = LocalSampler()
    svc = QuantumKernelSVC(sampler=sampler)
    assert clone_sharing(svc, ["sampler"]).sampler is sampler
    with pytest.warns(UserWarning, match="unpickled classifier has sampler=None until"):
        assert pickle.loads(pickle.dumps(svc)).sampler is None
    vqc = VQCClassifier(callback=callback)
    with pytest.warns(UserWarning, match="has callback=None and is not called"):
        assert pickle.loads(pickle.dumps(vqc)).callback is None
