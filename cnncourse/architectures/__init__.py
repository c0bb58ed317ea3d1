"""Reference implementations of the lecture's architectures and blocks, one module each.

Import from the submodule that names the network, e.g.
``from cnncourse.architectures.resnet import BasicBlock``. The book's chapters build and
count them; the assignment checks compare students' modules with them.
"""
