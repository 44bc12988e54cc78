"""Thread settings for blocks of torch work."""

import pytest
import torch

from keyframe.nets.threads import auto_threads, torch_threads


def test_threads_are_restored_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_none_leaves_the_setting_alone():
    before = torch.get_num_threads()
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_auto_never_exceeds_the_process_setting():
    assert 1 <= auto_threads() <= torch.get_num_threads()
