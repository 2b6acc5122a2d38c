"""Influence: audits of concentration and group influence, shilling attacks, detection, mitigation."""
