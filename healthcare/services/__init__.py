"""Service functions: multi-row, transactional, audited domain operations."""
