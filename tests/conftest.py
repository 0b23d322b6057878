"""Test settings: lessons run in fast mode unless the caller chose otherwise."""

import os
import tempfile

import pytest

os.environ.setdefault("GAN_LESSONS_MODE", "fast")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Long lesson runs keep resumable state on disk; tests keep theirs out of the user's cache.
os.environ.setdefault("GAN_LESSONS_STATE", tempfile.mkdtemp(prefix="gan_lessons_state_"))


@pytest.fixture
def count_traces():
    """Wrap a model's ``train_step`` so that each TensorFlow trace of it adds to the returned list
    (Python code in a step runs only while TensorFlow traces it)."""
    def wrap(model) -> list:
        traces, step = [], model.train_step

        def counted(data):
            traces.append(1)
            return step(data)

        model.train_step = counted
        return traces
    return wrap
