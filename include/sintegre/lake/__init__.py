"""Lake: storage (local or S3), layout, partition locks, landing, the Delta catalog, views."""
