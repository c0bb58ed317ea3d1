"""Shared code of the CNN course.

Everything that the book, the assignment notebooks, the autograder and the tests share
lives here, once:

- :mod:`cnncourse.data`      -- MNIST from the repository's files, scikit-image photos;
- :mod:`cnncourse.lecture`   -- the lecture's worked-example inputs and classical kernels;
- :mod:`cnncourse.runtime`   -- device choice and seeding;
- :mod:`cnncourse.plotting`  -- figures that read well in light and dark themes;
- :mod:`cnncourse.checks`    -- the grading checks that visible and hidden tests call.
"""

__version__ = "0.1.0"
