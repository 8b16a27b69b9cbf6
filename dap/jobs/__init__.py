"""Jobs: periodic scans, their scheduler and a record of each run."""
