"""Test settings: lessons run in fast mode unless the caller chose otherwise."""

import os

os.environ.setdefault("GAN_LESSONS_MODE", "fast")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
