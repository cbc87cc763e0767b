"""The managers' dashboard: funnels, at-risk partnerships, workload, placements per month,
satisfaction, expiring agreements, skills gap and inclusion, with CSV and PDF exports."""
