"""The cross-domain study: train on each domain, evaluate on all, measure the tax."""
