"""Ingest: download, the pipeline steps (download → parse → land), reprocessing, manual ingest."""
