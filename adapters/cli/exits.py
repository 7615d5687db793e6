"""`paperbot digest run` exit statuses besides 0 (all done), 1 (cannot run) and 2 (usage)."""

EXIT_POLL_FAILED = 3  # the poll of the paper source failed: digests wait for papers
EXIT_DELIVERY_PROBLEM = 4  # messages wait on send errors, or destinations were disabled
