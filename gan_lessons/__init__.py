"""gan_lessons: the helper package behind the notebooks of the course.

Importing the package checks that this Python has what the lessons need (one line says what is
missing and how to fix it, instead of a ``ModuleNotFoundError`` deep in a lesson) and silences
TensorFlow's C++ logging (level 3: Python errors still show) before TensorFlow loads, so lesson
outputs stay clean, and lets TensorFlow grow its GPU memory instead of taking it all. The package
itself stays light: submodules load TensorFlow only when imported.
"""

import importlib.util
import os
import sys

__version__ = "0.1.0"

REQUIRED = ("numpy", "keras", "tensorflow", "matplotlib", "IPython")


def missing_requirements() -> list[str]:
    """The packages the lessons import that this Python cannot find (found without importing them)."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def _starting_the_course_command() -> bool:
    """Whether ``python3 -m gan_lessons.course`` is starting: that set-up command needs only the
    standard library, since it is what installs the rest."""
    argv = getattr(sys, "orig_argv", [])
    return any(flag == "-m" and module == "gan_lessons.course" for flag, module in zip(argv, argv[1:]))


if not _starting_the_course_command() and (_missing := missing_requirements()):
    from gan_lessons.course import KERNEL_DISPLAY_NAME  # the kernel set-up registers (standard library only)

    raise ImportError(
        f"gan_lessons needs {', '.join(_missing)}, which this Python ({sys.executable}) does not have: in Jupyter "
        f'choose the kernel "{KERNEL_DISPLAY_NAME}" (Kernel > Change Kernel), or set the course up with '
        "`python3 -m gan_lessons.course lab` in its folder (README: Start in one command)"
    )

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not _starting_the_course_command():  # that command sets these itself (importing it here would run it twice)
    from gan_lessons.course import GPU_ENVIRONMENT  # standard library only

    for _name, _value in GPU_ENVIRONMENT.items():  # GPU memory growth, inherited by every process started later
        os.environ.setdefault(_name, _value)
