"""seatgate: floating licences for Atlassian Jira and Confluence Data Center.

This package holds what the two components (``proxy_addon`` and ``grant_worker``)
share: settings, the Redis schema, the traffic rules, the CLI and the upstream
simulator.
"""

__version__ = "0.1.0"
