"""Deduplication with provenance: exact and MinHash near-duplicate clusters that keep every member."""
