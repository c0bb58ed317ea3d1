"""Interactive widgets of the book, built on anywidget.

Each widget's logic is in its JavaScript file beside this module, so it renders and reacts
in the static HTML book (no kernel) and stays in sync with Python in a live kernel.
"""

from cnncourse.widgets.conv_arithmetic import ConvArithmetic
from cnncourse.widgets.conv_matrix import ConvMatrix
from cnncourse.widgets.kernel_playground import KernelPlayground
from cnncourse.widgets.network_explorer import NetworkExplorer
from cnncourse.widgets.pixel_explorer import PixelExplorer
from cnncourse.widgets.pooling_explorer import PoolingExplorer
from cnncourse.widgets.receptive_field import ReceptiveFieldExplorer

__all__ = ["ConvArithmetic", "ConvMatrix", "KernelPlayground", "NetworkExplorer",
           "PixelExplorer", "PoolingExplorer",
           "ReceptiveFieldExplorer"]
