"""nbval settings for the notebooks (loaded by pytest when it collects this folder).

After a cell has finished, nbval waits at most 5 seconds, a hard-coded value, for each further
output message from the kernel (nbval issues #136 and #231). A cell that trained models behind
progress bars on two busy cores can take longer than that to deliver its last messages, and nbval
then fails the cell although it ran correctly. The cell time limit stays as set by the Makefile.
"""

OUTPUT_TIMEOUT_S = 120


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = OUTPUT_TIMEOUT_S
