"""Entry point for stock mitmproxy:

    mitmdump -s proxy_addon/mitmdump_script.py --mode reverse:http://jira:8080@8080 \
        --set keep_host_header=true --set seatgate_config=seatgate.toml
"""

from proxy_addon.addon import HeaderHygiene, SeatGate

addons = [HeaderHygiene(), SeatGate()]
