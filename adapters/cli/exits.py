"""The exit codes of `paperbot` commands beyond 0 (done), 1 (failed) and 2 (bad usage)."""

EXIT_POLL_FAILED = 3  # the poll of the paper source failed: digests wait for papers
EXIT_DELIVERY_PROBLEM = 4  # messages wait on send errors, or destinations were disabled
