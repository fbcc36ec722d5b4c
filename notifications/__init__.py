"""Notifications per team (a Django group): signed webhooks and e-mail when jobs on the team's hosts end."""
