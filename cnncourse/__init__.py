"""Shared code of the CNN course.

Everything that the book, the assignment notebooks, the autograder and the tests share
lives here, once:

- :mod:`cnncourse.data`            -- MNIST from the repository's files, scikit-image photos;
- :mod:`cnncourse.lecture`         -- the lecture's worked-example inputs and classical kernels;
- :mod:`cnncourse.runtime`         -- device choice and seeding;
- :mod:`cnncourse.plotting`        -- figures that read well in light and dark themes;
- :mod:`cnncourse.training`        -- the small training loop the chapters share;
- :mod:`cnncourse.model_stats`     -- parameters, output shapes and FLOPs per layer;
- :mod:`cnncourse.benchmark`       -- median timings for the chapters' speed comparisons;
- :mod:`cnncourse.conv_matrix`     -- convolution as a matrix, im2col;
- :mod:`cnncourse.receptive_field` -- receptive fields: the recurrence, and measured by gradients;
- :mod:`cnncourse.architectures`   -- reference LeNet-5, AlexNet, VGG, Inception, ResNet, SE and
  depthwise-separable blocks;
- :mod:`cnncourse.widgets`         -- the book's interactive widgets (anywidget);
- :mod:`cnncourse.checks`          -- the grading checks that visible and hidden tests call;
- :mod:`cnncourse.nbgrader_course` -- a throwaway nbgrader course, for tests and benchmarks;
- :mod:`cnncourse.sandbox`         -- the sandboxed, resource-limited autograder.

The students' wheel (``make student``) leaves out the last two and :mod:`cnncourse.autograde`:
they are the instructor's grader (``nbgrader_course`` reads ``solutions/``).
"""

__version__ = "0.1.0"
