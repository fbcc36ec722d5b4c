"""Facts an agent reports about its host, checked like any other input, and the host status they lead to."""
from ..models import Host

TEXT_FACTS = {
    "docker_version": 64, "api_version": 16, "kernel": 128, "os": 128, "cpu_model": 255, "cpu_flags": 8000,
    "criu_version": 64, "criu_message": 2000, "criu_sockets_message": 2000, "docker_root_dir": 255,
    "docker_url": 255,
}
NUMBER_FACTS = ("cpus", "memory_bytes", "free_bytes", "containers_running")
BOOL_FACTS = ("experimental", "criu_ok")
ENGINE_KINDS = ("docker", "podman")


def clean(facts):
    """Only the facts a Host row holds, each of its type; anything else is dropped."""
    facts = facts if isinstance(facts, dict) else {}
    out = {}
    for key, limit in TEXT_FACTS.items():
        if isinstance(facts.get(key), str):
            out[key] = facts[key][:limit]
    for key in NUMBER_FACTS:
        value = facts.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62:
            out[key] = value
    for key in BOOL_FACTS:
        if isinstance(facts.get(key), bool):
            out[key] = facts[key]
    if isinstance(facts.get("criu_sockets_ok"), bool) or facts.get("criu_sockets_ok") is None:
        if "criu_sockets_ok" in facts:
            out["criu_sockets_ok"] = facts["criu_sockets_ok"]
    if facts.get("engine_kind") in ENGINE_KINDS:
        out["engine_kind"] = facts["engine_kind"]
    if isinstance(facts.get("engine_error"), str):
        out["engine_error"] = facts["engine_error"][:2000]
    return out


def apply(host, facts):
    """Update the host's facts and decide its status from them (the caller saves)."""
    engine_error = facts.pop("engine_error", "")
    for key, value in facts.items():
        setattr(host, key, value)
    if engine_error:
        host.status, host.status_reason = Host.Status.DEGRADED, engine_error
        return
    problems = host.engine_problems() + host.engine_warnings()
    host.status = Host.Status.DEGRADED if problems else Host.Status.ONLINE
    host.status_reason = "; ".join(problems)
