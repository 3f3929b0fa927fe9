"""The services: what every front door (the CLI, the web page) asks of the host, answered as plain data.

One module per question: configure and validate settings, sync a business, diagnose, check a contact, verify a
sample, list runs and schedules, list plugins. A front door renders what these return and computes nothing itself.
"""
