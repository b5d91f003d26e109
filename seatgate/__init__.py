"""seatgate: floating licences for Atlassian Jira and Confluence Data Center.

This package holds what the two components (``proxy_addon`` and ``grant_worker``)
share: settings, the Redis schema, the traffic rules, the policy, the report and the
CLI. The Jira/Confluence simulator and ``seatgate demo`` are a separate distribution in
``simulator/`` (tests and demos only).
"""

__version__ = "0.1.0"
