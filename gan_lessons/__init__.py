"""gan_lessons: the helper package behind the notebooks of the course.

Importing the package silences TensorFlow's C++ logging (level 3: Python errors still show) before
TensorFlow loads, so lesson outputs stay clean. The package itself stays light: submodules load
TensorFlow only when they are imported.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
