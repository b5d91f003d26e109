"""The seatgate mitmproxy addon: identity, classification, grant-before-forward."""
