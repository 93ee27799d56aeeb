"""Monitoring after launch: drift, performance before and after labels, alerts."""
