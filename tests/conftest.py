"""Test settings: lessons run in fast mode unless the caller chose otherwise."""

import os
import tempfile

os.environ.setdefault("GAN_LESSONS_MODE", "fast")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Long lesson runs keep resumable state on disk; tests keep theirs out of the user's cache.
os.environ.setdefault("GAN_LESSONS_STATE", tempfile.mkdtemp(prefix="gan_lessons_state_"))
