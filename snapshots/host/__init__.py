"""The host agent: the one process on a Docker host that holds its engine's socket. It knows the dashboard's URL
and its own credential, nothing else; it imports no Django and reads and reports everything through the worker API.
"""
