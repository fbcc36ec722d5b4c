"""Audit rows for accounts, from Django's own signals, whichever way the change was made (sign-in page, admin,
manage.py, single sign-on): sign-in, sign-out and failed sign-ins; accounts created, changed and deleted; password
changes; group (team) membership; admin status (is_superuser, is_staff, membership of the admin group); groups
created, renamed and deleted. The acting person and origin come from snapshots.audit_context."""
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, is_password_usable
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from . import audit_context
from .services import Origin, audit
from .services.access import ADMIN_GROUP

ADMIN_FIELDS = ("is_superuser", "is_staff")
WATCHED = ("password", "is_active", *ADMIN_FIELDS)
SIGN_IN_METHODS = {"ModelBackend": "password", "AxesBackend": "password", "CryoOIDCBackend": "oidc"}


def _record(action, outcome, details, *, actor=None, label=None, origin=None):
    if actor is None and label is None:
        actor, label = audit_context.current_actor()
    with transaction.atomic():
        audit.record(actor=actor, actor_label=label, action=action, outcome=outcome,
                     origin=origin or audit_context.current_origin(), details=details)


# -- signing in and out ----------------------------------------------------------------------------------------
def _origin(request):
    return Origin.web(request) if request is not None else audit_context.current_origin()


def _method(user, request):
    backend = getattr(user, "backend", "") or ""
    method = SIGN_IN_METHODS.get(backend.rsplit(".", 1)[-1], backend.rsplit(".", 1)[-1] or "session")
    if request is not None and getattr(request, "cryo_second_factor", ""):
        method += "+" + request.cryo_second_factor
    return method


def signed_in(sender, request, user, **kwargs):
    try:
        _record("auth.login", "succeeded", {"method": _method(user, request)}, actor=user, origin=_origin(request))
    except Exception:
        # A sign-in that cannot be audited does not happen: end the session it just started.
        if request is not None and hasattr(request, "session"):
            request.session.flush()
            request.user = AnonymousUser()
        raise


def signed_out(sender, request, user, **kwargs):
    if user is not None:
        _record("auth.logout", "succeeded", {"reason": getattr(request, "cryo_logout_reason", "signed out")},
                actor=user, origin=_origin(request))


def sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD) or "")
    # A backend that knows more (single sign-on: which account, why refused) leaves it on the request.
    failure_name, failure_reason = getattr(request, "cryo_sign_in_failure", None) or ("", "")
    username = username or failure_name
    if getattr(request, "axes_locked_out", False):
        outcome, reason = "denied", "too many failed sign-ins: locked out for now"
    else:
        outcome = "failed"
        reason = credentials.get("cryo_reason") or failure_reason or "wrong user name or password"
    _record("auth.login", outcome, {"reason": reason, "user": username}, label=username or "anonymous",
            origin=_origin(request))


# -- accounts --------------------------------------------------------------------------------------------------
def _before_user_save(sender, instance, update_fields=None, **kwargs):
    instance._cryo_before = None
    if instance.pk is None or (update_fields is not None and not set(update_fields) & set(WATCHED)):
        return
    instance._cryo_before = sender._base_manager.filter(pk=instance.pk).values(*WATCHED).first()


def _password_changed(instance, before, update_fields):
    if instance.password == before["password"]:
        return False
    raw = getattr(instance, "_password", None)
    if raw is None:
        # A sign-in re-hashes a password with newer parameters (AbstractBaseUser.check_password saves only the
        # password, having cleared the raw one): the same password, not a change.
        rehash = update_fields is not None and set(update_fields) == {"password"}
        return not (rehash and instance.has_usable_password() and is_password_usable(before["password"]))
    return not check_password(raw, before["password"])


def _after_user_save(sender, instance, created, update_fields=None, **kwargs):
    name = instance.get_username()
    if created:
        _record("account.create", "succeeded", {"user": name, **{f: getattr(instance, f) for f in WATCHED[1:]}})
        return
    before = getattr(instance, "_cryo_before", None)
    if not before:
        return
    if _password_changed(instance, before, update_fields):
        _record("account.password", "succeeded", {"user": name, "usable": instance.has_usable_password()})
    if before["is_active"] != instance.is_active:
        _record("account.active", "succeeded", {"user": name, "is_active": [before["is_active"], instance.is_active]})
    changed = {f: [before[f], getattr(instance, f)] for f in ADMIN_FIELDS if before[f] != getattr(instance, f)}
    if changed:
        _record("account.admin", "succeeded", {"user": name, **changed})
    instance._cryo_before = None


def _user_deleted(sender, instance, **kwargs):
    _record("account.delete", "succeeded", {"user": instance.get_username()})


# -- groups ----------------------------------------------------------------------------------------------------
def _memberships(user_ids):
    pairs = get_user_model().groups.through.objects.filter(user_id__in=user_ids).values_list("user_id", "group_id")
    found = {uid: set() for uid in user_ids}
    for uid, gid in pairs:
        found[uid].add(gid)
    return found


def _membership_changing(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("pre_add", "pre_remove", "pre_clear"):
        return
    if reverse:  # group.user_set.add(...): instance is the group, pk_set are users
        user_ids = set(pk_set or ()) or set(instance.user_set.values_list("pk", flat=True))
    else:
        user_ids = {instance.pk}
    instance._cryo_groups_before = _memberships(user_ids)


def _membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    before = getattr(instance, "_cryo_groups_before", None) or {}
    instance._cryo_groups_before = None
    after = _memberships(set(before))
    names = dict(Group.objects.filter(pk__in=set().union(*before.values(), *after.values())).values_list("pk", "name"))
    users = dict(get_user_model()._base_manager.filter(pk__in=before).values_list("pk", "username"))
    for uid, old in before.items():
        new = after.get(uid, set())
        if old == new:
            continue
        added = sorted(names[g] for g in new - old)
        removed = sorted(names[g] for g in old - new)
        name = users.get(uid, str(uid))
        _record("account.groups", "succeeded", {"user": name, "added": added, "removed": removed})
        if ADMIN_GROUP in added or ADMIN_GROUP in removed:
            _record("account.admin", "succeeded", {"user": name, ADMIN_GROUP: [ADMIN_GROUP in removed,
                                                                             ADMIN_GROUP in added]})


def _before_group_save(sender, instance, **kwargs):
    instance._cryo_old_name = sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first() \
        if instance.pk else None


def _admin_status_of_members(group, was_admin_group, is_admin_group, members=None):
    """Renaming a group to or from the admin group's name, or deleting that group, changes its members' role."""
    if was_admin_group == is_admin_group:
        return
    for name in members if members is not None else group.user_set.values_list("username", flat=True):
        _record("account.admin", "succeeded", {"user": name, ADMIN_GROUP: [was_admin_group, is_admin_group]})


def _after_group_save(sender, instance, created, **kwargs):
    if created:
        _record("group.create", "succeeded", {"group": instance.name})
    elif instance._cryo_old_name is not None and instance._cryo_old_name != instance.name:
        _record("group.rename", "succeeded", {"group": [instance._cryo_old_name, instance.name]})
        _admin_status_of_members(instance, instance._cryo_old_name == ADMIN_GROUP, instance.name == ADMIN_GROUP)


def _before_group_delete(sender, instance, **kwargs):
    instance._cryo_members = sorted(instance.user_set.values_list("username", flat=True))


def _group_deleted(sender, instance, **kwargs):
    members = getattr(instance, "_cryo_members", [])
    _record("group.delete", "succeeded", {"group": instance.name, "members": members})
    _admin_status_of_members(instance, instance.name == ADMIN_GROUP, False, members)


def connect():
    user = get_user_model()
    user_logged_in.connect(signed_in, dispatch_uid="cryo-audit-login")
    user_logged_out.connect(signed_out, dispatch_uid="cryo-audit-logout")
    user_login_failed.connect(sign_in_failed, dispatch_uid="cryo-audit-login-failed")
    pre_save.connect(_before_user_save, sender=user, dispatch_uid="cryo-audit-user-pre")
    post_save.connect(_after_user_save, sender=user, dispatch_uid="cryo-audit-user-post")
    post_delete.connect(_user_deleted, sender=user, dispatch_uid="cryo-audit-user-delete")
    m2m_changed.connect(_membership_changing, sender=user.groups.through, dispatch_uid="cryo-audit-groups-pre")
    m2m_changed.connect(_membership_changed, sender=user.groups.through, dispatch_uid="cryo-audit-groups-post")
    pre_save.connect(_before_group_save, sender=Group, dispatch_uid="cryo-audit-group-pre")
    post_save.connect(_after_group_save, sender=Group, dispatch_uid="cryo-audit-group-post")
    pre_delete.connect(_before_group_delete, sender=Group, dispatch_uid="cryo-audit-group-delete-pre")
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid="cryo-audit-group-delete")
