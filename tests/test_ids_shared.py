"""One rule for Hub ids (nercore/ids.py): the toolkit's flags and the Space's typed models agree on every case."""

from __future__ import annotations

import pytest

from nercore.errors import UserError
from nercore.ids import MAX_NAME, is_model_id
from space.config import SpaceConfig
from space.service import RequestError, Service
from toolkit.ids import check_model_id

CASES = {
    "bert-base-cased": True,
    "dslim/bert-base-NER": True,
    "a" * MAX_NAME + "/" + "b" * MAX_NAME: True,
    "a" * (MAX_NAME + 1) + "/b": False,  # 97 characters in the namespace
    "owner/na--me": False,
    "owner/../etc": False,
    "-owner/name": False,
    "owner/name/extra": False,
}


@pytest.mark.parametrize("value,valid", CASES.items())
def test_the_toolkit_and_the_space_agree(value, valid, monkeypatch):
    assert is_model_id(value) is valid
    try:
        check_model_id(value)
        toolkit_ok = True
    except UserError:
        toolkit_ok = False
    service = Service(SpaceConfig(default_model="x/y", allow_custom_model=True, device="cpu"))
    try:
        service.resolve_model(value)
        space_ok = True
    except RequestError as err:
        space_ok = False
        assert "at most 96 characters" in str(err) or "local paths" in str(err)
    assert toolkit_ok is valid and space_ok is valid
