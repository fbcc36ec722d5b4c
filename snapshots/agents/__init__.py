"""The dashboard's side of its host agents: joining, credentials, presence, inventory and broker users."""
